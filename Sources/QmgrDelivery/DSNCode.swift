// DSNCode: the checks stock applies to enhanced status codes it receives
// before it acts on them (dsn_valid): a class digit 2, 4 or 5, a dot, one
// to three digits, a dot, one to three digits, then the end or white
// space. Pure functions over bytes.
import MailQueue

public enum DSNCode {
    /// True when `status` starts with a valid enhanced status code.
    public static func isValid(_ status: ByteString) -> Bool {
        let b = status.bytes
        guard b.count >= 2, [UInt8(ascii: "2"), UInt8(ascii: "4"), UInt8(ascii: "5")].contains(b[0]),
              b[1] == UInt8(ascii: ".") else { return false }
        guard let afterSubject = digits(b, from: 2), afterSubject < b.count, b[afterSubject] == UInt8(ascii: ".") else {
            return false
        }
        guard let end = digits(b, from: afterSubject + 1) else { return false }
        return end == b.count || isSpace(b[end])
    }

    /// Index after 1-3 digits starting at `start`, nil when there are none or more than three.
    private static func digits(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
        let n = i - start
        return n >= 1 && n <= 3 ? i : nil
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
}
