// RecordReader: reads queue-file records one at a time from QueueFileBytes,
// raw or following pointer records, as Postfix's rec_get_raw/rec_goto do.
//
// Guarantees: never traps and never allocates more than the bytes left in
// the file for one record, whatever the input; every malformed record is a
// QueueFileError naming the file and the offset of the record at fault.
// Pointer following ends: a pointer record followed twice in one pass is a
// loop, and (as stock) more than 10000 jumps to an offset at or before the
// previous jump target are refused.

public struct RecordReader {
    public private(set) var source: QueueFileBytes
    /// Offset of the next record's type byte.
    public private(set) var position: Int
    /// Largest payload accepted; 0 = no limit other than the file's size (as qmgr).
    public var maximumLength: Int

    /// Stock's REVERSE_JUMP_LIMIT.
    public static let reverseJumpLimit = 10000

    private var pointersFollowed: Set<Int> = []
    private var lastJumpTarget = 0
    private var reverseJumps = 0

    public init(_ source: QueueFileBytes, at position: Int = 0, maximumLength: Int = 0) {
        self.source = source
        self.position = position
        self.maximumLength = maximumLength
    }

    /// Reader over bytes in memory: the entry point for fuzzing and tests.
    public init(bytes: [UInt8], name: String = "(memory)", maximumLength: Int = 0) {
        self.init(QueueFileBytes(bytes: bytes, name: name), maximumLength: maximumLength)
    }

    public var name: String { source.name }
    public var atEnd: Bool { position >= source.size }

    /// Moves to `offset`. A new pass (the default) forgets the pointers
    /// followed so far; a seek inside one pass (skipping content) keeps them,
    /// so that a loop through the seek is still found.
    public mutating func seek(to offset: Int, newPass: Bool = true) {
        position = Swift.max(0, offset)
        if newPass {
            pointersFollowed = []
            lastJumpTarget = 0
            reverseJumps = 0
        }
    }

    func error(_ problem: QueueFileError.Problem, at offset: Int) -> QueueFileError {
        QueueFileError(file: source.name, offset: offset, problem: problem)
    }

    /// The next record as it is in the file (pointer and padding records
    /// included); nil at the end of the file.
    public mutating func nextRaw() throws(QueueFileError) -> Record? {
        let start = position
        guard start < source.size, let typeByte = try source.bytes(at: start, count: 1).first else { return nil }
        let type = RecordType(rawValue: typeByte)
        let lengthBytes = try source.bytes(at: start + 1, count: Swift.min(5, source.size - start - 1))
        let length: Int, lengthSize: Int
        switch RecordLength.decode(lengthBytes) {
        case .length(let n, let size): (length, lengthSize) = (n, size)
        case .needMoreBytes: throw error(.truncatedLength(type: type), at: start)
        case .tooManyBytes: throw error(.tooManyLengthBytes(type: type), at: start)
        case .tooLarge: throw error(.illegalLength(type: type, length: RecordLength.decodeUnchecked(lengthBytes),
                                                    limit: maximumLength), at: start)
        }
        if maximumLength > 0 && length > maximumLength {
            throw error(.illegalLength(type: type, length: length, limit: maximumLength), at: start)
        }
        let dataStart = start + 1 + lengthSize
        guard length <= source.size - dataStart else {
            throw error(.truncatedData(type: type, length: length), at: start)
        }
        let payload = Array(try source.bytes(at: dataStart, count: length))
        position = dataStart + length
        return Record(type, payload, offset: start)
    }

    /// The next record, following pointer records (dummy pointers are
    /// skipped) and, when asked, skipping content padding; nil at the end of
    /// the file. What rec_get() returns with REC_FLAG_FOLLOW_PTR.
    public mutating func next(skipPadding: Bool = false) throws(QueueFileError) -> Record? {
        while let record = try nextRaw() {
            if record.type == .pointer {
                try follow(record)
                continue
            }
            if skipPadding && record.type == .padding { continue }
            return record
        }
        return nil
    }

    /// Continues at the offset a pointer record names (value 0: a dummy, no jump).
    public mutating func follow(_ pointer: Record) throws(QueueFileError) {
        guard let target = RecordReader.pointerTarget(pointer.payload) else {
            throw error(.malformedPointer(payload: pointer.text), at: pointer.offset)
        }
        if target == 0 { return }
        guard target < source.size else {
            throw error(.pointerBeyondEnd(target: target, fileSize: source.size), at: pointer.offset)
        }
        guard pointersFollowed.insert(pointer.offset).inserted else {
            throw error(.pointerLoop(target: target), at: pointer.offset)
        }
        if target <= lastJumpTarget {
            reverseJumps += 1
            if reverseJumps > RecordReader.reverseJumpLimit {
                throw error(.tooManyReverseJumps(limit: RecordReader.reverseJumpLimit), at: pointer.offset)
            }
        }
        lastJumpTarget = target
        position = target
    }

    /// The offset in a pointer payload: optional leading white space, then
    /// decimal digits only (none = 0, the dummy); nil when malformed.
    static func pointerTarget(_ payload: [UInt8]) -> Int? {
        var digits = payload[...]
        while let c = digits.first, CNumbers.isSpace(c) { digits = digits.dropFirst() }
        var value = 0
        for c in digits {
            guard CNumbers.isDigit(c) else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))
            guard !o1, !o2 else { return nil }
            value = a
        }
        return value
    }
}

extension RecordLength {
    /// The value of a length that is too large to accept, for the error text.
    static func decodeUnchecked<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 {
        var value = 0, shift = 0
        for b in bytes.prefix(5) {
            value |= Int(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        return value
    }
}
