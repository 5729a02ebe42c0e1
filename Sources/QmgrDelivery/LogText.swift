// LogText: the pieces of stock's log lines that need care: addresses in
// the form info_log_address_format asks for, and durations as format_tv
// prints them for delay= and delays=.
//
// Address forms: "internal" logs the address as stored; "external" (the
// default) quotes a local part that is not an RFC 822 dot-string
// ("bad@"@x -> "\"bad@\"@x"), after any source route, leaving 8-bit bytes
// alone; an empty address is logged empty in both forms.
// Durations: two significant digits, at most `resolution` decimals
// (delay_logging_resolution_limit, 0..6), rounded half up, trailing zeros
// and digits below the resolution dropped: 0, 0.02, 0.1, 1.3, 12, 1234.
import MailQueue

public enum LogAddressForm: String, Sendable {
    case external, `internal`

    /// Parses info_log_address_format; stock treats any other value as fatal.
    public init?(setting: String) { self.init(rawValue: setting) }

    public func format(_ address: ByteString) -> ByteString {
        guard self == .external, !address.isEmpty else { return address }
        return LogAddressForm.quoteLocalPart(address)
    }

    static func quoteLocalPart(_ address: ByteString) -> ByteString {
        let b = address.bytes
        var start = 0
        if b.first == UInt8(ascii: "@"), let colon = b.firstIndex(of: UInt8(ascii: ":")) { start = colon + 1 }
        let end = b[start...].lastIndex(of: UInt8(ascii: "@")) ?? b.count
        let local = Array(b[start..<end])
        if isDotString(local) { return address }
        var out = Array(b[..<start])
        out.append(UInt8(ascii: "\""))
        for c in local {
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == 0x0D { out.append(UInt8(ascii: "\\")) }
            out.append(c)
        }
        out.append(UInt8(ascii: "\""))
        return ByteString(out + b[end...])
    }

    private static let specials = Set("()<>@,;:\\\"[]".utf8)

    private static func isDotString(_ local: [UInt8]) -> Bool {
        guard let first = local.first, first != UInt8(ascii: "."), local.last != UInt8(ascii: ".") else { return false }
        for (i, c) in local.enumerated() {
            if c == UInt8(ascii: "."), i + 1 < local.count, local[i + 1] == UInt8(ascii: ".") { return false }
            if c == 0x20 || c < 0x20 || c == 0x7F || specials.contains(c) { return false }
        }
        return true
    }
}

public enum DelayText {
    /// `seconds` and `microseconds` (both >= 0) as stock logs a delay.
    public static func format(seconds: Int, microseconds: Int, resolution: Int = 2) -> String {
        let million = 1_000_000, significant = 100
        var sec = max(0, seconds), usec = max(0, min(microseconds, million))
        let digits = max(0, min(resolution, 6))
        var unit = million / pow10(digits)
        // Keep two significant digits: coarser units for larger values.
        if unit < million {
            if sec > 0 {
                var n = 1
                while sec >= n && n <= significant / 10 { n *= 10 }
                unit = (million / significant) * n
            } else {
                while usec >= significant * unit { unit *= 10 }
            }
        }
        if unit > 1 {
            usec += unit / 2
            if usec >= million { sec += 1; usec -= million }
        }
        var text = String(sec)
        if usec >= unit {
            text += "."
            var rest = usec, place = million / 10
            while rest >= unit && place > 0 {
                text += String(rest / place)
                rest %= place
                place /= 10
            }
        }
        return text
    }

    private static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }
}
