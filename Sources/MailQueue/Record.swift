// Record: one queue-file record (type byte, length, payload) and the record
// types of Postfix 3.7 (rec_type.h), with the length encoding shared by
// files and the cleanup/pickup record streams.
//
// Length encoding: base-128, low 7 bits first, 0x80 on every byte but the
// last; 0 is one byte 0x00. Stock's reader gives up after 32 bits of shift
// and rejects lengths that do not fit a positive int; `RecordLength.decode`
// accepts exactly the encodings of 0 ... Int32.max.

public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    init(_ c: Unicode.Scalar) { rawValue = UInt8(ascii: c) }

    /// The type as stock prints it in "Unexpected record type '%c'": the byte itself.
    public var character: Character { Character(Unicode.Scalar(rawValue)) }
    public var description: String {
        (rawValue >= 0x21 && rawValue < 0x7F) ? "'\(character)'" : "\(rawValue)"
    }

    public static let size = RecordType("C")         // first record, fixed-width sizes
    public static let time = RecordType("T")         // arrival time "sec usec"
    public static let createTime = RecordType("c")   // create time (written as attribute)
    public static let fullName = RecordType("F")
    public static let inspect = RecordType("I")      // inspector transport
    public static let filter = RecordType("L")       // content_filter (envelope/extracted)
    public static let from = RecordType("S")         // envelope sender
    public static let done = RecordType("D")         // delivered recipient
    public static let recipient = RecordType("R")    // recipient still to do
    public static let originalRecipient = RecordType("O")
    public static let cancelledRecipient = RecordType("/")
    public static let warn = RecordType("W")         // next delay warning, fixed width
    public static let attribute = RecordType("A")    // name=value
    public static let killed = RecordType("K")
    public static let redirect = RecordType(">")
    public static let flags = RecordType("f")        // cleanup input only
    public static let delay = RecordType("d")        // cleanup input only
    public static let message = RecordType("M")      // start of content
    public static let continued = RecordType("L")    // content line fragment (same byte as filter)
    public static let normal = RecordType("N")       // content line
    public static let padding = RecordType("w")      // content padding
    public static let extracted = RecordType("X")    // start of extracted segment
    public static let returnReceipt = RecordType("r")
    public static let errorsTo = RecordType("e")
    public static let priority = RecordType("P")
    public static let pointer = RecordType("p")
    public static let verp = RecordType("V")
    public static let dsnRet = RecordType("<")
    public static let dsnEnvelopeID = RecordType("i")
    public static let dsnOriginalRecipient = RecordType("o")
    public static let dsnNotify = RecordType("n")
    public static let milterCount = RecordType("m")  // cleanup input only
    public static let end = RecordType("E")

    /// Record types a queue manager accepts in the envelope and extracted
    /// segments (REC_TYPE_ENVELOPE + REC_TYPE_EXTRACT).
    public static let envelopeOrExtracted: Set<RecordType> =
        Set(Array("MCTcFILSDRO/WVA>K<ion".utf8).map(RecordType.init(rawValue:)))
        .union(Array("EDRO/PreAFIL>Kon".utf8).map(RecordType.init(rawValue:)))

    /// `envelopeOrExtracted.contains(self)` by table lookup (once per record read, no hashing).
    public var isEnvelopeOrExtracted: Bool { RecordType.envelopeOrExtractedTable[Int(rawValue)] }

    private static let envelopeOrExtractedTable: [Bool] =
        (0..<256).map { envelopeOrExtracted.contains(RecordType(rawValue: UInt8($0))) }
}

/// One record as read from a file or stream.
public struct Record: Hashable, Sendable {
    public var type: RecordType
    public var payload: [UInt8]
    /// File offset of the type byte (-1 for records not read from a file).
    public var offset: Int

    public init(_ type: RecordType, _ payload: [UInt8], offset: Int = -1) {
        self.type = type
        self.payload = payload
        self.offset = offset
    }

    public init(_ type: RecordType, _ text: String, offset: Int = -1) {
        self.init(type, Array(text.utf8), offset: offset)
    }

    public var text: ByteString { ByteString(payload) }

    /// Bytes this record occupies when written: type + length + payload.
    public var encodedSize: Int { 1 + RecordLength.encodedSize(payload.count) + payload.count }
}

public enum RecordLength {
    /// Largest length stock's reader accepts (it keeps the length in an int).
    public static let maximum = Int(Int32.max)

    public static func append(_ length: Int, to out: inout [UInt8]) {
        precondition(length >= 0, "negative record length")
        var rest = length
        repeat {
            var byte = UInt8(rest & 0x7F)
            rest >>= 7
            if rest != 0 { byte |= 0x80 }
            out.append(byte)
        } while rest != 0
    }

    public static func encodedSize(_ length: Int) -> Int {
        var n = 1
        var rest = length >> 7
        while rest != 0 { n += 1; rest >>= 7 }
        return n
    }

    public enum DecodeResult: Equatable {
        case length(Int, byteCount: Int)
        case needMoreBytes
        /// More than 5 length bytes (stock: "too many length bits").
        case tooManyBytes
        /// Decodes to more than Int32.max (stock: "illegal length").
        case tooLarge
    }

    /// Decodes the length that starts at `bytes.startIndex`.
    public static func decode<C: Collection>(_ bytes: C) -> DecodeResult where C.Element == UInt8 {
        var value = 0
        var shift = 0
        var count = 0
        for b in bytes {
            if shift >= 32 { return .tooManyBytes }
            value |= Int(b & 0x7F) << shift
            count += 1
            if b & 0x80 == 0 {
                return value > maximum ? .tooLarge : .length(value, byteCount: count)
            }
            shift += 7
        }
        return shift >= 32 ? .tooManyBytes : .needMoreBytes
    }
}
