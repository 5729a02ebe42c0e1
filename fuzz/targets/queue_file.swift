// queue_file - MailQueue's record reader and envelope pass on any bytes:
// every outcome is a result or a QueueFileError naming the file, never a
// trap; batches of 3 recipients refill until done.
import MailQueue

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueueFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    var reader = RecordReader(bytes: input.bytes, name: "fuzz")
    var envelope = Envelope()
    var batches = 0
    do {
        repeat {
            _ = try envelope.load(from: &reader, recipientLimit: 3)
            batches += 1
        } while envelope.refillOffset != nil && batches <= size
    } catch {
        require(error.file == "fuzz", "error names \(error.file)")
    }
    var raw = RecordReader(bytes: input.bytes)
    var records = 0
    while records <= size, let r = try? raw.next(skipPadding: true) { _ = r; records += 1 }
    return 0
}
