// RecordWriter: builds queue-file records in memory, in the byte format
// stock's readers (qmgr, agents, postcat, cleanup's record stream) accept.
// Fixed-width records (SIZE, WARN, pointers) use stock's widths so they can
// be patched later with `patch`, here or in a file (QueueFileEditor).

public struct RecordWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Offset the next record will have.
    public var offset: Int { bytes.count }

    /// Appends a record; returns the offset of its type byte.
    @discardableResult
    public mutating func put<C: Collection>(_ type: RecordType, _ payload: C) -> Int where C.Element == UInt8 {
        let at = bytes.count
        bytes.append(type.rawValue)
        RecordLength.append(payload.count, to: &bytes)
        bytes.append(contentsOf: payload)
        return at
    }

    @discardableResult
    public mutating func put(_ type: RecordType, _ text: String) -> Int { put(type, Array(text.utf8)) }

    @discardableResult
    public mutating func put(_ type: RecordType, _ text: ByteString) -> Int { put(type, text.bytes) }

    @discardableResult
    public mutating func put(_ record: Record) -> Int { put(record.type, record.payload) }

    /// An `A` record "name=value".
    @discardableResult
    public mutating func putAttribute(_ name: String, _ value: ByteString) -> Int {
        put(.attribute, Array(name.utf8) + [UInt8(ascii: "=")] + value.bytes)
    }

    @discardableResult
    public mutating func putSize(_ size: SizeRecord) -> Int { put(.size, size.payload) }

    /// A pointer record to `target` ("%15ld"; 0 = dummy placeholder).
    @discardableResult
    public mutating func putPointer(to target: Int) -> Int { put(.pointer, FixedWidth.format(target)) }

    /// A WARN record with the time of the next delay warning ("%15ld").
    @discardableResult
    public mutating func putWarningTime(_ time: Int) -> Int { put(.warn, FixedWidth.format(time)) }

    /// Arrival time "sec usec".
    @discardableResult
    public mutating func putTime(seconds: Int, microseconds: Int) -> Int {
        put(.time, "\(seconds) \(microseconds)")
    }

    /// A record of `type` that occupies exactly `recordSize` bytes when that
    /// is possible (as rec_pad: a "0" right-aligned in the payload; at least
    /// one payload byte).
    @discardableResult
    public mutating func putPadding(_ type: RecordType, recordSize: Int) -> Int {
        let width = Swift.max(1, recordSize - 2)
        return put(type, [UInt8](repeating: 0x20, count: width - 1) + [UInt8(ascii: "0")])
    }

    /// Replaces the record at `offset` by one of the same type and encoded
    /// size (fixed-width patching); false when it would not fit exactly.
    public mutating func patch(at offset: Int, _ type: RecordType, _ payload: [UInt8]) -> Bool {
        var reader = RecordReader(bytes: bytes)
        reader.seek(to: offset)
        guard let old = try? reader.nextRaw(), old.type == type, old.payload.count == payload.count else { return false }
        let start = offset + old.encodedSize - payload.count
        bytes.replaceSubrange(start..<(start + payload.count), with: payload)
        return true
    }

    /// Overwrites the type byte at `offset` (done-marking, killing).
    public mutating func setType(_ type: RecordType, at offset: Int) {
        precondition(offset >= 0 && offset < bytes.count, "record offset outside the buffer")
        bytes[offset] = type.rawValue
    }
}
