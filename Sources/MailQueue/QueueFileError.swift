// QueueFileError: every way a queue file (or record stream) can be unusable,
// as a value naming the file and the byte offset where the problem is.
// Readers never trap on input; they throw one of these.

public struct QueueFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file's path (or the name given to an in-memory reader).
    public let file: String
    /// Byte offset of the record (its type byte) or field at fault; -1 when none applies.
    public let offset: Int
    public let problem: Problem

    public init(file: String, offset: Int, problem: Problem) {
        self.file = file
        self.offset = offset
        self.problem = problem
    }

    public enum Problem: Equatable, Sendable {
        // Record framing.
        case truncatedLength(type: RecordType)
        case tooManyLengthBytes(type: RecordType)
        case illegalLength(type: RecordType, length: Int, limit: Int)
        case truncatedData(type: RecordType, length: Int)
        // Pointer records.
        case malformedPointer(payload: ByteString)
        case pointerBeyondEnd(target: Int, fileSize: Int)
        case pointerLoop(target: Int)
        case tooManyReverseJumps(limit: Int)
        // Structure.
        case missingEndRecord
        case unexpectedRecordType(RecordType)
        case badAttribute(reason: String, text: ByteString)
        case invalidSizeRecord(ByteString)
        case invalidSizeFlags(ByteString)
        case weirdSizeRecord(ByteString)
        case preVersion1SizeRecord(ByteString)
        case missingArrivalTime
        case missingSender
        case missingSizeRecord
        case contentBeyondEnd(dataOffset: Int, dataSize: Int, fileSize: Int)
        // In-place edits.
        case wrongRecordForEdit(expected: [RecordType], found: RecordType?)
        case valueTooWide(value: Int, width: Int)
        // System calls.
        case system(operation: String, errno: Int32)
        case fileShrank(expectedSize: Int)
    }

    public var description: String { "\(file): \(offset >= 0 ? "offset \(offset): " : "")\(problemText)" }

    /// What is wrong, without the file and offset.
    public var problemText: String {
        switch problem {
        case .truncatedLength(let t): return "unexpected EOF reading length, record type \(t)"
        case .tooManyLengthBytes(let t): return "too many length bits, record type \(t)"
        case .illegalLength(let t, let n, let limit):
            return "illegal length \(n), record type \(t)" + (limit > 0 ? " (limit \(limit))" : "")
        case .truncatedData(let t, let n): return "unexpected EOF in data, record type \(t) length \(n)"
        case .malformedPointer(let p): return "malformed pointer record value: \(p)"
        case .pointerBeyondEnd(let target, let size): return "pointer to offset \(target) beyond end of file (size \(size))"
        case .pointerLoop(let target): return "pointer loop: offset \(target) reached again"
        case .tooManyReverseJumps(let limit): return "too many reverse jump records (more than \(limit))"
        case .missingEndRecord: return "message rejected: missing end record"
        case .unexpectedRecordType(let t): return "Unexpected record type \(t)"
        case .badAttribute(let reason, let text): return "bad attribute record: \(reason): \(text)"
        case .invalidSizeRecord(let p): return "invalid size record: \(p)"
        case .invalidSizeFlags(let p): return "invalid flags in size record: \(p)"
        case .weirdSizeRecord(let p): return "message rejected: weird size record: \(p)"
        case .preVersion1SizeRecord(let p): return "size record of a pre-1.0 Postfix queue file is not supported: \(p)"
        case .missingArrivalTime: return "message rejected: missing arrival time record"
        case .missingSender: return "message rejected: missing sender record"
        case .missingSizeRecord: return "message rejected: missing size record"
        case .contentBeyondEnd(let o, let s, let size):
            return "content (offset \(o), size \(s)) extends beyond end of file (size \(size))"
        case .wrongRecordForEdit(let expected, let found):
            let what = expected.isEmpty ? "a record"
                : "a record of type " + expected.map(\.description).joined(separator: " or ")
            return "expected \(what) here, found " + (found.map { "type \($0)" } ?? "the end of the file")
        case .valueTooWide(let v, let w): return "value \(v) does not fit a \(w)-character field"
        case .system(let op, let e): return "\(op): \(SystemError.text(e))"
        case .fileShrank(let size): return "file ends before its size when opened (\(size) bytes)"
        }
    }
}
