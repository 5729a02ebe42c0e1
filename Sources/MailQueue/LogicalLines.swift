// LogicalLines: the rules of a regexp or cidr table as Postfix reads its
// text (readllines(3)): a line starting with white space continues the
// rule above it (appended as it is, with no separator); a line that is
// empty, white space only, or whose first non-blank byte is "#" is
// dropped wherever it appears, without ending the rule being continued;
// a rule is numbered by its first physical line. Text continuing nothing
// (white space at the start of a file's first rule) is skipped with
// stock's warning.
// Guarantees: never traps; bytes are kept as they are (a NUL byte too:
// the parsers stop at it, as stock's C strings do).

/// A logical line, or stock's warning about text that continues nothing,
/// in the order stock reads them.
enum LogicalItem: Equatable, Sendable {
    case line(LogicalLine)
    case warning(String)
}

struct LogicalLine: Equatable, Sendable {
    /// The number of the rule's first physical line (1-based).
    let number: Int
    /// The rule's text, without the newline.
    let text: [UInt8]
}

enum LogicalLines {
    /// The logical lines of `bytes`; `source` names the text in warnings
    /// (the file's path, "unknown_stream" for inline text, as stock says).
    static func split(_ bytes: [UInt8], source: String) -> [LogicalItem] {
        var items: [LogicalItem] = []
        var current: [UInt8] = []
        var first = 0
        func finish() {
            defer { current = [] }
            guard let lead = current.first else { return }
            if CText.isSpace(lead) {
                items.append(.warning("\(source): logical line must not start with whitespace: \"\(shown(current))\""))
            } else {
                items.append(.line(LogicalLine(number: first, text: current)))
            }
        }
        var number = 0
        for physical in physicalLines(bytes) {
            number += 1
            guard let lead = physical.first(where: { !CText.isSpace($0) }), lead != UInt8(ascii: "#") else { continue }
            if !CText.isSpace(physical[physical.startIndex]) { finish() }
            if current.isEmpty { first = number }
            current += physical
        }
        finish()
        return items
    }

    /// The lines of `bytes` without their newlines; a last line without a
    /// newline counts only when it is not empty.
    private static func physicalLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if out.last?.isEmpty == true { out.removeLast() }
        return out
    }

    /// The first 30 bytes as a C string ("..." when there is more), as stock's "%.30s%s".
    private static func shown(_ text: [UInt8]) -> String {
        let head = CText.cString(text).prefix(30)
        return String(decoding: head, as: UTF8.self) + (text.count > 30 ? "..." : "")
    }
}
