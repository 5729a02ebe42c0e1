// QueueFileEditor: the only changes anyone makes to a committed queue file,
// done in place on an open descriptor: a recipient's type byte R becomes D
// (delivered or bounced), a record's type byte becomes K (killed), and the
// fixed-width WARN and SIZE payloads are rewritten with values of the same
// width. Each edit first checks that the record at the offset is what the
// caller believes it is, so a wrong offset is an error, not a damaged file.
// The descriptor is borrowed; nothing is flushed to disk here (stock does
// not fsync these edits either).
#if canImport(Glibc)
import Glibc
#endif

public struct QueueFileEditor {
    public let descriptor: Int32
    public let name: String

    public init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    /// Marks the recipient whose R record starts at `offset` as done.
    /// A recipient already marked D is left alone (another process was first).
    public func markDone(recipientAt offset: Int) throws(QueueFileError) {
        let record = try record(at: offset)
        guard let type = record?.type, type == .recipient || type == .done else {
            throw QueueFileError(file: name, offset: offset, problem: .wrongRecordForEdit(expected: [.recipient, .done], found: record?.type))
        }
        if type == .recipient { try writeBytes([RecordType.done.rawValue], at: offset) }
    }

    /// Kills the record at `offset` (its type byte becomes K), e.g. trace_flags after a trace report.
    public func kill(recordAt offset: Int) throws(QueueFileError) {
        guard try record(at: offset) != nil else {
            throw QueueFileError(file: name, offset: offset, problem: .wrongRecordForEdit(expected: [], found: nil))
        }
        try writeBytes([RecordType.killed.rawValue], at: offset)
    }

    /// Rewrites the WARN record at `offset` with `time` (-1: warning sent).
    public func updateWarningTime(recordAt offset: Int, to time: Int) throws(QueueFileError) {
        let record = try record(at: offset)
        guard let old = record, old.type == .warn else {
            throw QueueFileError(file: name, offset: offset, problem: .wrongRecordForEdit(expected: [.warn], found: record?.type))
        }
        try rewritePayload(of: old, with: FixedWidth.formatExactly(time), value: time)
    }

    /// Rewrites the SIZE record (the file's first record) with `size`.
    public func updateSize(_ size: SizeRecord) throws(QueueFileError) {
        let record = try record(at: 0)
        guard let old = record, old.type == .size else {
            throw QueueFileError(file: name, offset: 0, problem: .wrongRecordForEdit(expected: [.size], found: record?.type))
        }
        let payload = size.payload
        try rewritePayload(of: old, with: payload.count == SizeRecord.payloadLength ? payload : nil,
                           value: size.dataSize)
    }

    private func rewritePayload(of old: Record, with payload: [UInt8]?, value: Int) throws(QueueFileError) {
        guard let payload, payload.count == old.payload.count else {
            throw QueueFileError(file: name, offset: old.offset,
                                 problem: .valueTooWide(value: value, width: old.payload.count))
        }
        try writeBytes(payload, at: old.offset + old.encodedSize - payload.count)
    }

    /// The record at `offset`, nil at the end of the file.
    private func record(at offset: Int) throws(QueueFileError) -> Record? {
        var reader = RecordReader(try QueueFileBytes(descriptor: descriptor, name: name), at: offset)
        return try reader.nextRaw()
    }

    private func writeBytes(_ bytes: [UInt8], at offset: Int) throws(QueueFileError) {
        let n = bytes.withUnsafeBytes { raw in
            SystemError.retrying { pwrite(descriptor, raw.baseAddress!, raw.count, off_t(offset)) }
        }
        guard n == bytes.count else {
            throw QueueFileError(file: name, offset: offset, problem: .system(operation: "write", errno: n < 0 ? errno : EIO))
        }
    }
}
