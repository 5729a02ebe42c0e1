// CFormat: printf-style formatting through the C library, for log lines that
// must read exactly as stock's (its "%g" numbers in feedback debug lines).
// Guarantees: the same digits glibc's printf writes; output longer than
// 255 bytes is truncated, which no caller here comes near.
import Glibc

enum CFormat {
    static func format(_ format: String, _ arguments: CVarArg...) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = withVaList(arguments) { list in
            vsnprintf(&buffer, buffer.count, format, list)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A double as "%g" prints it.
    static func g(_ value: Double) -> String { format("%g", value) }
}
