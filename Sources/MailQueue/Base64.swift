// Base64: the standard alphabet with "=" padding, as Postfix's attr0 DATA
// values use it. Decoding is stricter than stock's (which stops at the
// first padding and ignores what follows): input whose length is not a
// multiple of 4, any byte outside the alphabet, padding anywhere but the
// end, or non-zero bits under the padding are refused (nil).

public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let values: [UInt8] = {
        var v = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { v[Int(c)] = UInt8(i) }
        return v
    }()

    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return out
    }

    /// Appends the encoding of `bytes` to `out`.
    public static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0xF) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
    }

    public static func decode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        let chars = Array(text)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            let c0 = values[Int(chars[i])], c1 = values[Int(chars[i + 1])]
            guard c0 != 0xFF, c1 != 0xFF else { return nil }
            out.append(c0 << 2 | c1 >> 4)
            let pad2 = chars[i + 2] == UInt8(ascii: "="), pad3 = chars[i + 3] == UInt8(ascii: "=")
            if pad2 {
                guard last, pad3, c1 & 0x0F == 0 else { return nil }
                break
            }
            let c2 = values[Int(chars[i + 2])]
            guard c2 != 0xFF else { return nil }
            out.append(c1 << 4 | c2 >> 2)
            if pad3 {
                guard last, c2 & 0x03 == 0 else { return nil }
                break
            }
            let c3 = values[Int(chars[i + 3])]
            guard c3 != 0xFF else { return nil }
            out.append(c2 << 6 | c3)
            i += 4
        }
        return out
    }
}
