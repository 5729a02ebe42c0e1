// attr_lists - MailQueue's attr0 decoder and the request/reply decoders on
// any bytes: lists re-encode to the bytes they came from; decoders return a
// value or an AttrError, never trap.
import MailQueue

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAttrLists(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    guard let (lists, _) = try? AttrDecoder.decodeAll(input.bytes, limits: .init(maximumStringLength: 4096, maximumAttributes: 64))
    else { return 0 }
    let consumed = lists.flatMap(\.encoded)
    require(Array(input.bytes.prefix(consumed.count)) == consumed, "lists do not re-encode to their bytes")
    _ = try? DeliveryRequest.decode(lists, peer: "fuzz")
    for list in lists {
        _ = try? DeliveryReply.decode(list, peer: "fuzz")
        _ = try? StatusNoticeRequest.decode(list, peer: "fuzz")
        _ = try? StatusAppendRequest.decode(list, peer: "fuzz")
    }
    return 0
}
