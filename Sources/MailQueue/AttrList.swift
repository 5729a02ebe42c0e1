// AttrList: one attr0 attribute list, the unit of every request and reply
// on Postfix's internal sockets (attr_print0/attr_scan0): each attribute is
// name NUL value NUL, and one extra NUL (an empty name) ends the list.
// Numbers are unsigned decimal (INT 32 bits: -1 is 4294967295; LONG 64
// bits), DATA is base64. Names and values cannot contain NUL: like stock
// (which prints C strings), the encoder writes a value only up to its first NUL.

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
        var out: [UInt8] = []
        for a in attributes {
            out.append(contentsOf: AttrList.cString(a.name.bytes))
            out.append(0)
            out.append(contentsOf: AttrList.cString(a.value.bytes))
            out.append(0)
        }
        out.append(0)
        return out
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
