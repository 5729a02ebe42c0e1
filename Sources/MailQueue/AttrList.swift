// AttrList: one attr0 attribute list, the unit of every request and reply
// on Postfix's internal sockets (attr_print0/attr_scan0): each attribute is
// name NUL value NUL, and one extra NUL (an empty name) ends the list.
// Numbers are unsigned decimal (INT 32 bits: -1 is 4294967295; LONG 64
// bits), DATA is base64. Names and values cannot contain NUL: like stock
// (which prints C strings), the encoder writes a value only up to its first NUL.
// AttrEncoder writes the same bytes straight into one buffer, for requests
// built per message (no intermediate list, no String per number).

public struct AttrList: Equatable, Sendable, CustomStringConvertible {
    /// Names are kept as bytes too: a list re-encodes to the bytes it was decoded from.
    public struct Attribute: Equatable, Sendable {
        public var name: ByteString
        public var value: ByteString
        public init(_ name: ByteString, _ value: ByteString) {
            self.name = name
            self.value = value
        }
        public init(_ name: String, _ value: ByteString) { self.init(ByteString(name), value) }
    }

    public var attributes: [Attribute]

    public init(_ attributes: [Attribute] = []) { self.attributes = attributes }

    /// Built from typed items, in order.
    public init(_ items: [AttrItem]) { attributes = items.map(\.attribute) }

    /// The wire form, terminator included.
    public var encoded: [UInt8] {
        var encoder = AttrEncoder()
        for a in attributes { encoder.append(name: a.name.bytes, value: a.value.bytes) }
        encoder.endList()
        return encoder.bytes
    }

    /// The first value named `name`.
    public subscript(name: String) -> ByteString? {
        let key = ByteString(name)
        return attributes.first { $0.name == key }?.value
    }

    public var description: String {
        "{" + attributes.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") + "}"
    }

    static func cString(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        guard let nul = bytes.firstIndex(of: 0) else { return bytes[...] }
        return bytes[..<nul]
    }
}

/// Lists in attr0 wire form, appended to one buffer: the bytes are those of
/// `AttrList(items).encoded`, lists one after the other.
public struct AttrEncoder {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func append(_ items: [AttrItem]) {
        for item in items { append(item) }
    }

    public mutating func append(_ item: AttrItem) {
        switch item {
        case .int(let n, let v): appendNumber(name: n, UInt64(UInt32(truncatingIfNeeded: v)))
        case .long(let n, let v): appendNumber(name: n, UInt64(truncatingIfNeeded: v))
        case .string(let n, let v):
            appendName(n)
            appendCString(v.bytes)
        case .data(let n, let v):
            appendName(n)
            Base64.encode(v, into: &bytes)
            bytes.append(0)
        }
    }

    /// One attribute from raw name and value bytes (each up to its first NUL).
    public mutating func append(name: [UInt8], value: [UInt8]) {
        appendCString(name)
        appendCString(value)
    }

    /// The empty name that ends a list.
    public mutating func endList() { bytes.append(0) }

    private mutating func appendName(_ name: String) {
        var name = name
        name.withUTF8 { appendCString($0) }
    }

    private mutating func appendCString<C: Collection>(_ text: C) where C.Element == UInt8 {
        if let nul = text.firstIndex(of: 0) {
            bytes.append(contentsOf: text[..<nul])
        } else {
            bytes.append(contentsOf: text)
        }
        bytes.append(0)
    }

    /// Unsigned decimal, as String(v) spells it.
    private mutating func appendNumber(name: String, _ v: UInt64) {
        appendName(name)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { raw in
            var n = v, i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[i...]))
        }
        bytes.append(0)
    }
}

/// A typed attribute, encoded as stock's SEND_ATTR_* macros encode it.
public enum AttrItem: Equatable, Sendable {
    case int(String, Int)
    case long(String, Int)
    case string(String, ByteString)
    case data(String, [UInt8])

    public var attribute: AttrList.Attribute {
        switch self {
        case .int(let n, let v): return .init(n, ByteString(String(UInt32(truncatingIfNeeded: v))))
        case .long(let n, let v): return .init(n, ByteString(String(UInt64(truncatingIfNeeded: v))))
        case .string(let n, let v): return .init(n, v)
        case .data(let n, let v): return .init(n, ByteString(Base64.encode(v)))
        }
    }
}
