// LogicalLineReader.swift - Postfix's logical lines (readllines(3)), as
// main.cf, master.cf and the regexp and cidr tables are read: a physical
// line starting with white space continues the entry above it (appended
// as it is, the newline dropped); a line that is empty, white space only,
// or whose first non-blank byte is "#" is dropped wherever it appears,
// without ending the entry being continued; an entry is numbered by its
// first physical line. Text continuing nothing (white space at the start
// of the first entry) is handed back as an orphan, which every reader
// skips with the same warning (`orphanWarning`).
// Guarantees: never traps; bytes are kept as they are (a NUL byte too).

public enum LogicalLineReader {
    public enum Item: Equatable, Sendable {
        /// An entry: the number of its first physical line (1-based) and its text.
        case line(number: Int, text: [UInt8])
        /// Text that continues nothing, to be skipped with `orphanWarning`.
        case orphan([UInt8])
    }

    /// The entries and orphans of `bytes`, in the order they appear.
    public static func items(_ bytes: [UInt8]) -> [Item] {
        var items: [Item] = []
        var current: [UInt8] = []
        var first = 0
        func finish() {
            defer { current = [] }
            guard let lead = current.first else { return }
            items.append(isSpace(lead) ? .orphan(current) : .line(number: first, text: current))
        }
        var number = 0
        for physical in physicalLines(bytes) {
            number += 1
            guard let lead = physical.first(where: { !isSpace($0) }), lead != UInt8(ascii: "#") else { continue }
            if !isSpace(physical[physical.startIndex]) { finish() }
            if current.isEmpty { first = number }
            current += physical
        }
        finish()
        return items
    }

    /// Stock's warning for an orphan of `source` (a path, or
    /// "unknown_stream" for inline text): its first 30 bytes as a C string
    /// sees them, then "..." when the text is longer.
    public static func orphanWarning(source: String, text: [UInt8]) -> String {
        let head = text.prefix { $0 != 0 }.prefix(30)
        return "\(source): logical line must not start with whitespace: \""
            + String(decoding: head, as: UTF8.self) + (text.count > 30 ? "..." : "") + "\""
    }

    /// The lines of `bytes` without their newlines; a last line without a
    /// newline counts only when it is not empty.
    private static func physicalLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if out.last?.isEmpty == true { out.removeLast() }
        return out
    }

    /// ISSPACE: ASCII white space only, whatever the locale.
    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
}
