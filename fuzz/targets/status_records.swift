// status_records - the master's decoder of child status records
// (MasterProtocol's StatusRecords, called by StatusChannel.readUpdates): any
// bytes give exactly count/12 records and a count%12 fragment, and the
// records re-encode to the bytes they came from.
import MasterProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStatusRecords(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    var records: [StatusUpdate] = []
    let fragment = input.bytes.withUnsafeBytes { StatusRecords.decode($0) { records.append($0) } }
    require(records.count == size / StatusUpdate.size, "\(records.count) records from \(size) bytes")
    require(fragment == size % StatusUpdate.size, "fragment \(fragment) from \(size) bytes")
    require(records.flatMap(\.bytes) == Array(input.bytes.prefix(records.count * StatusUpdate.size)),
            "records do not re-encode to their bytes")
    return 0
}
