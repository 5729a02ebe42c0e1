// MailDate.swift - a time as pickup writes it into its Received: header
// (stock's mail_date()): "Mon, 30 Nov 2026 17:16:20 +0000 (UTC)", local
// time, day of month space-padded, numeric offset and zone abbreviation.
#if canImport(Glibc)
import Glibc
#endif

enum MailDate {
    /// The last time formatted and its text: files dropped in the same
    /// second share it. One thread per worker process uses it.
    nonisolated(unsafe) private static var last: (when: Int, text: String)?

    static func format(_ when: Int) -> String {
        if let last, last.when == when { return last.text }
        let text = formatted(when)
        last = (when, text)
        return text
    }

    private static func formatted(_ when: Int) -> String {
        var t = time_t(when)
        var local = tm()
        localtime_r(&t, &local)
        let offsetMinutes = local.tm_gmtoff / 60
        let sign = offsetMinutes < 0 ? "-" : "+"
        let magnitude = abs(offsetMinutes)
        return strftime("%a, %e %b %Y %H:%M:%S ", local)
            + sign + twoDigits(magnitude / 60) + twoDigits(magnitude % 60)
            + strftime(" (%Z)", local)
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static func strftime(_ format: String, _ time: tm) -> String {
        var copy = time
        var buffer = [CChar](repeating: 0, count: 128)
        let n = Glibc.strftime(&buffer, buffer.count, format, &copy)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
