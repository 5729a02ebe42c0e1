// SizeRecord: the first record of a queue file (type C), six "%15ld" fields
// separated by single spaces (95 bytes), rewritten in place by cleanup when
// the file is complete. Parsing follows what qmgr accepts: the fields are
// read as scanf("%ld %ld %d %d %ld %d") would, at least three are needed, a
// single field is a pre-1.0 file, and the flags may only carry the bits a
// queue manager knows (mixed recipients, DSN NOTIFY union).

public struct SizeRecord: Equatable, Sendable {
    /// Bytes from the first content record to the X record (field 1).
    public var dataSize: Int
    /// Offset just after the M record: the first content record (field 2).
    public var dataOffset: Int
    /// Recipients written by cleanup (field 3; exact only in a fresh file).
    public var recipientCount: Int
    /// Queue manager hints (field 4): see `QueueFlags`.
    public var flags: Int
    /// Content length (field 5; 0 in files older than Postfix 2.4).
    public var contentLength: Int
    /// SMTPUTF8 flags (field 6).
    public var smtputf8: Int

    public init(dataSize: Int = 0, dataOffset: Int = 0, recipientCount: Int = 0, flags: Int = 0,
                contentLength: Int = 0, smtputf8: Int = 0) {
        self.dataSize = dataSize
        self.dataOffset = dataOffset
        self.recipientCount = recipientCount
        self.flags = flags
        self.contentLength = contentLength
        self.smtputf8 = smtputf8
    }

    /// Bits of field 4: recipients mixed with other records; NOTIFY union << 1.
    public enum QueueFlags {
        public static let mixedRecipientsAndOther = 1
        public static let notifyNever = 1 << 1
        public static let notifySuccess = 2 << 1
        public static let notifyFailure = 4 << 1
        public static let notifyDelay = 8 << 1
        /// Every bit a queue manager accepts.
        public static let known = mixedRecipientsAndOther | notifyNever | notifySuccess | notifyFailure | notifyDelay
    }

    /// Payload length as stock writes it: 6 × 15 columns + 5 spaces.
    public static let payloadLength = 95

    /// The payload, "%15ld %15ld %15ld %15ld %15ld %15ld".
    public var payload: [UInt8] {
        [dataSize, dataOffset, recipientCount, flags, contentLength, smtputf8]
            .map(FixedWidth.format).joined(separator: [0x20]).map { $0 }
    }

    /// The content length a queue manager uses: field 5, or field 1 when 0.
    public var effectiveContentLength: Int { contentLength == 0 ? dataSize : contentLength }

    public enum ParseResult: Equatable {
        case valid(SizeRecord, fieldCount: Int)
        /// Exactly one field: a file from before Postfix 1.0.
        case preVersion1
        /// Fewer than one or exactly two fields.
        case weird
        /// Fields present but out of range (offset/size <= 0, length < 0, number overflow).
        case invalid
        /// Flag bits a queue manager does not know.
        case invalidFlags
    }

    /// What qmgr makes of a C record payload.
    public static func parse(_ payload: [UInt8]) -> ParseResult {
        let (values, overflow) = CNumbers.scanLongs(payload, count: 6)
        if overflow { return .invalid }
        if values.count == 1 { return .preVersion1 }
        guard values.count >= 3 else { return .weird }
        // Fields 3, 4 and 6 are ints in stock's reader.
        for i in [2, 3, 5] where i < values.count {
            if values[i] < Int(Int32.min) || values[i] > Int(Int32.max) { return .invalid }
        }
        var record = SizeRecord(dataSize: values[0], dataOffset: values[1], recipientCount: values[2])
        if values.count > 3 { record.flags = values[3] }
        if values.count > 4 { record.contentLength = values[4] }
        if values.count > 5 { record.smtputf8 = values[5] }
        if record.dataOffset <= 0 || record.dataSize <= 0 { return .invalid }
        if record.flags & ~QueueFlags.known != 0 { return .invalidFlags }
        if record.contentLength < 0 { return .invalid }
        return .valid(record, fieldCount: values.count)
    }
}
