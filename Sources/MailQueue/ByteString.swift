// ByteString: the bytes of a queue-file payload or an attribute value, kept
// exactly as read. Postfix passes addresses and header text as 8-bit strings
// that need not be UTF-8; converting them to String on the way in would change
// what a queue manager sends on (to trivial-rewrite, agents, logs). Guarantee:
// a ByteString round-trips byte for byte; `description` is only for display.

public struct ByteString: Hashable, Sendable, Comparable, ExpressibleByStringLiteral,
    CustomStringConvertible, CustomDebugStringConvertible {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init<S: Sequence>(_ bytes: S) where S.Element == UInt8 { self.bytes = Array(bytes) }
    public init(_ string: String) { bytes = Array(string.utf8) }
    public init(stringLiteral value: String) { bytes = Array(value.utf8) }

    public static let empty = ByteString([])

    public var isEmpty: Bool { bytes.isEmpty }
    public var count: Int { bytes.count }

    /// The text when the bytes are valid UTF-8, nil otherwise.
    public var utf8String: String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// For display: invalid UTF-8 becomes U+FFFD.
    public var description: String { String(decoding: bytes, as: UTF8.self) }
    public var debugDescription: String { "\"" + description + "\"" }

    public static func < (a: ByteString, b: ByteString) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }

    /// True when the value contains a NUL byte (not representable in attr0 or C strings).
    public var containsNUL: Bool { bytes.contains(0) }
}
