// address_quoting - MailQueue's conversion between internal and external
// address forms on any bytes: never a trap, and quoting then unquoting
// gives back the address (up to its first NUL), as stock's pair does.
import MailQueue

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAddressQuoting(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    let address = ByteString(input.bytes)
    let external = AddressQuoting.external(address)
    let back = AddressQuoting.internal(external)
    let expected = ByteString(input.bytes.prefix(while: { $0 != 0 }))
    require(back == expected, "round trip changed \(expected.bytes) into \(back.bytes) via \(external.bytes)")
    _ = AddressQuoting.internal(address)
    return 0
}
