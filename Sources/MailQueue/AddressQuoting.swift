// AddressQuoting: the two forms of a mail address Postfix converts between.
// Queue files, trivial-rewrite's resolve requests and delivery requests carry
// the internal (unquoted) form; rewrite requests and logs (with
// info_log_address_format = external, the default) use the external RFC 822
// form, whose local part is quoted unless it is a dot-string.
//
// Guarantees (Postfix 3.7 quote_822_local with its default 8-bit-clean
// flag, and unquote_822_local):
// - a source route prefix "@a,@b:" is never quoted or unquoted;
// - the local part ends at the last "@" (external form: the last "@" outside
//   quotes); the domain is copied unchanged;
// - quoting escapes only '"', '\' and CR inside the quotes; bytes above 127
//   are left alone;
// - a NUL ends the address, as it ends a C string.

public enum AddressQuoting {
    /// The external (RFC 822) form of an internal-form address.
    public static func external(_ address: ByteString) -> ByteString {
        let mbox = cString(address.bytes)
        let start = routePrefixEnd(mbox)
        let end = mbox[start...].lastIndex(of: at) ?? mbox.count
        if isDotString(mbox[start..<end]) { return ByteString(mbox) }
        var out = Array(mbox[..<start])
        out.append(quote)
        for c in mbox[start..<end] {
            if c == quote || c == backslash || c == 0x0D { out.append(backslash) }
            out.append(c)
        }
        out.append(quote)
        out += mbox[end...]
        return ByteString(out)
    }

    /// The internal form of an external-form address.
    public static func `internal`(_ address: ByteString) -> ByteString {
        let mbox = cString(address.bytes)
        let start = routePrefixEnd(mbox)
        var out = Array(mbox[..<start])
        var inQuote = false
        var lastBareAt: (source: Int, output: Int)?
        var i = start
        while i < mbox.count {
            let c = mbox[i]
            if c == quote {
                inQuote.toggle()
                i += 1
                continue
            }
            if c == at && !inQuote { lastBareAt = (i, out.count) }
            if c == backslash {
                if i + 1 == mbox.count { break }
                i += 1
            }
            out.append(mbox[i])
            i += 1
        }
        // The domain after the last unquoted "@" is copied as it was.
        if let bare = lastBareAt { out = Array(out[..<bare.output]) + mbox[bare.source...] }
        return ByteString(out)
    }

    static let at = UInt8(ascii: "@"), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    static func cString(_ bytes: [UInt8]) -> [UInt8] {
        guard let nul = bytes.firstIndex(of: 0) else { return bytes }
        return Array(bytes[..<nul])
    }

    /// Where the local part starts: after "@route:" when the address begins with one.
    static func routePrefixEnd(_ mbox: [UInt8]) -> Int {
        guard mbox.first == at, let colon = mbox.firstIndex(of: UInt8(ascii: ":")) else { return 0 }
        return colon + 1
    }

    /// RFC 822 dot-string: atoms separated by single dots, no specials,
    /// controls or spaces (8-bit bytes allowed).
    static func isDotString(_ local: ArraySlice<UInt8>) -> Bool {
        guard let first = local.first, first != UInt8(ascii: ".") else { return false }
        let specials = Array("()<>@,;:\\\"[]".utf8)
        var previous: UInt8 = 0
        for c in local {
            if c == UInt8(ascii: ".") && previous == UInt8(ascii: ".") { return false }
            if c == 0x20 || c < 0x20 || c == 0x7F || specials.contains(c) { return false }
            previous = c
        }
        return previous != UInt8(ascii: ".")
    }
}
