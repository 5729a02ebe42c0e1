// AttrScanner: reads typed values out of one received list the way
// attr_scan0 does. Strict (ATTR_FLAG_STRICT, what every qmgr-side reader
// uses): the attributes must come in exactly the requested order, none
// missing, none extra. Lenient: attributes not asked for are skipped, but
// every requested one must still be present, in order.
// Numbers must be plain unsigned decimal within range (stock's scanf would
// also take signs and white space); DATA must be valid base64.

public struct AttrScanner {
    public let list: AttrList
    public let peer: String
    public let strict: Bool
    private var index = 0

    public init(_ list: AttrList, peer: String, strict: Bool = true) {
        self.list = list
        self.peer = peer
        self.strict = strict
    }

    private func error(_ p: AttrError.Problem) -> AttrError { AttrError(peer: peer, problem: p) }

    /// The value of the next attribute, which must be `name`.
    public mutating func string(_ name: String) throws(AttrError) -> ByteString {
        while index < list.attributes.count {
            let a = list.attributes[index]
            index += 1
            if a.name.bytes.elementsEqual(name.utf8) { return a.value }
            if strict { throw error(.unexpectedAttribute(a.name.description, expecting: name)) }
        }
        throw error(.missingAttribute(name))
    }

    /// An INT attribute (unsigned 32-bit on the wire).
    public mutating func int(_ name: String) throws(AttrError) -> UInt32 {
        let text = try string(name)
        guard let v = CNumbers.unsignedDecimal(text.bytes, max: UInt64(UInt32.max)) else {
            throw error(.malformedNumber(name: name, text: text))
        }
        return UInt32(v)
    }

    /// An INT attribute as the signed int stock stores it (4294967295 is -1).
    public mutating func signedInt(_ name: String) throws(AttrError) -> Int {
        Int(Int32(bitPattern: try int(name)))
    }

    /// A LONG attribute (unsigned 64-bit on the wire).
    public mutating func long(_ name: String) throws(AttrError) -> UInt64 {
        let text = try string(name)
        guard let v = CNumbers.unsignedDecimal(text.bytes, max: UInt64.max) else {
            throw error(.malformedNumber(name: name, text: text))
        }
        return v
    }

    /// A DATA attribute (base64 on the wire).
    public mutating func data(_ name: String) throws(AttrError) -> [UInt8] {
        let text = try string(name)
        guard let v = Base64.decode(text.bytes) else { throw error(.malformedBase64(name: name, text: text)) }
        return v
    }

    /// STREQ: the attribute must be present with exactly this value.
    public mutating func expect(_ name: String, equals expected: String) throws(AttrError) {
        let value = try string(name)
        guard value.bytes == Array(expected.utf8) else {
            throw error(.unexpectedValue(name: name, value: value, expected: expected))
        }
    }

    /// Strict readers: nothing may follow the requested attributes.
    public func finish() throws(AttrError) {
        if strict, index < list.attributes.count {
            throw error(.unexpectedAttribute(list.attributes[index].name.description, expecting: "(list terminator)"))
        }
    }
}
