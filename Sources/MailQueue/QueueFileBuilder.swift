// QueueFileBuilder: writes a complete queue file in the layout cleanup(8)
// gives its output: SIZE first (patched at the end), arrival time, envelope
// records, one A/A/O/R group per recipient, M, content records, X, extracted
// records, E. The SIZE record is computed: content size and offset, the
// number of recipients written, the union of their NOTIFY bits and the
// "recipients mixed with other records" hint, content length = content size.
// It decides nothing else: which attributes, in which order, and how lines
// are cut into N and L records is the caller's choice.

public struct QueueFileBuilder {
    public private(set) var writer = RecordWriter()
    private var size = SizeRecord()
    private var dataOffset: Int?
    private var extractedOffset: Int?
    private var recipientsWritten = 0
    private var lastEnvelopeRecordWasRecipient = false

    /// Starts the file: a zeroed SIZE record, then T "seconds microseconds".
    public init(arrivalSeconds: Int, arrivalMicroseconds: Int, smtputf8: Int = 0) {
        size.smtputf8 = smtputf8
        writer.putSize(size)
        writer.putTime(seconds: arrivalSeconds, microseconds: arrivalMicroseconds)
    }

    public enum Segment { case envelope, content, extracted, finished }

    public var segment: Segment {
        if extractedOffset != nil { return .extracted }
        if dataOffset != nil { return .content }
        return .envelope
    }

    /// Any envelope or extracted record (F, S, W, A, L, I, V, >, p, ...).
    @discardableResult
    public mutating func record(_ type: RecordType, _ payload: [UInt8]) -> Int {
        precondition(segment != .content, "envelope record inside the content")
        noteNonRecipient()
        return writer.put(type, payload)
    }

    @discardableResult
    public mutating func attribute(_ name: String, _ value: ByteString) -> Int {
        noteNonRecipient()
        return writer.putAttribute(name, value)
    }

    @discardableResult
    public mutating func sender(_ address: ByteString) -> Int { record(.from, address.bytes) }

    @discardableResult
    public mutating func warningTime(_ time: Int) -> Int {
        noteNonRecipient()
        return writer.putWarningTime(time)
    }

    /// A dummy (0) or real pointer record, in any segment.
    @discardableResult
    public mutating func pointer(to target: Int) -> Int { writer.putPointer(to: target) }

    /// A padding record of `type` occupying `recordSize` bytes (see
    /// RecordWriter.putPadding), in any segment: room kept for later edits.
    @discardableResult
    public mutating func padding(_ type: RecordType, recordSize: Int) -> Int {
        writer.putPadding(type, recordSize: recordSize)
    }

    /// A recipient group: notify_flags and dsn_orig_rcpt attributes when set,
    /// O when there is an original recipient, then R. Returns the R record's offset.
    @discardableResult
    public mutating func recipient(_ address: ByteString, original: ByteString = .empty,
                                   dsnOriginalRecipient: ByteString = .empty, dsnNotify: Int = 0) -> Int {
        precondition(segment != .content, "recipient inside the content")
        if dsnNotify != 0 {
            writer.putAttribute("notify_flags", ByteString(String(dsnNotify)))
            size.flags |= (dsnNotify & 0xF) << 1
        }
        if !dsnOriginalRecipient.isEmpty { writer.putAttribute("dsn_orig_rcpt", dsnOriginalRecipient) }
        if !original.isEmpty { writer.put(.originalRecipient, original) }
        recipientsWritten += 1
        lastEnvelopeRecordWasRecipient = segment == .envelope
        return writer.put(.recipient, address)
    }

    /// Ends the envelope: writes M; content records follow.
    public mutating func beginContent() {
        precondition(segment == .envelope, "content started twice")
        writer.put(.message, [])
        dataOffset = writer.offset
        lastEnvelopeRecordWasRecipient = false
    }

    /// A complete content line (N record, no newline).
    public mutating func contentLine(_ line: [UInt8]) { content(.normal, line) }

    /// A content record of any type (N, L, w, p).
    public mutating func content(_ type: RecordType, _ payload: [UInt8]) {
        precondition(segment == .content, "content record outside the content")
        writer.put(type, payload)
    }

    /// Ends the content: writes X; extracted records follow.
    public mutating func endContent() {
        precondition(segment == .content, "no content to end")
        extractedOffset = writer.offset
        writer.put(.extracted, [])
    }

    /// Writes E and the final SIZE record; returns the file's bytes.
    /// `flags` are added to the computed hints (e.g. bits of another writer).
    public mutating func finish(extraFlags: Int = 0) -> [UInt8] {
        if segment == .envelope { beginContent() }
        if segment == .content { endContent() }
        writer.put(.end, [])
        let start = dataOffset ?? 0
        size.dataOffset = start
        size.dataSize = (extractedOffset ?? start) - start
        size.contentLength = size.dataSize
        size.recipientCount = recipientsWritten
        size.flags |= extraFlags
        let patched = writer.patch(at: 0, .size, size.payload)
        precondition(patched, "SIZE record grew")
        return writer.bytes
    }

    private mutating func noteNonRecipient() {
        if segment == .envelope && lastEnvelopeRecordWasRecipient {
            size.flags |= SizeRecord.QueueFlags.mixedRecipientsAndOther
        }
        lastEnvelopeRecordWasRecipient = false
    }
}
