// LogicalLines: turns configuration text into postconf(5)/master(5) logical
// lines. Guarantees: comment and blank lines vanish everywhere (also inside a
// continued entry), a line starting with whitespace continues the previous
// one (newline dropped, its leading whitespace kept), `number` is the first
// physical line of the entry, and a continuation with nothing to continue is
// reported through `warn` with the stock wording and otherwise ignored.

/// A logical line (postconf(5)/master(5) rules): first physical line number, joined text.
public struct LogicalLine: Equatable, Sendable {
    public let number: Int
    public let text: String

    public init(number: Int, text: String) {
        self.number = number
        self.text = text
    }
}

public enum LogicalLines {
    /// Splits text into logical lines. Orphan continuation text is dropped
    /// after `warn("<path>: logical line must not start with whitespace: \"<first 30 bytes>...\"")`.
    public static func split(_ text: String, path: String, warn: (String) -> Void) -> [LogicalLine] {
        let physical = physicalLines(Array(text.utf8))
        var result: [LogicalLine] = []
        var index = 0
        while index < physical.count {
            var joined: [UInt8] = []
            var first = 0
            // Gather physical lines until the next one starts a new entry.
            while index < physical.count {
                let line = physical[index]
                index += 1
                if !isCommentOrBlank(line.bytes) {
                    if joined.isEmpty { first = line.number }
                    joined.append(contentsOf: line.bytes)
                }
                if !joined.isEmpty, index < physical.count,
                   startsNewEntry(physical[index].bytes) {
                    break
                }
            }
            guard let head = joined.first else { continue }
            if isSpaceByte(head) {
                warn(orphanWarning(path: path, bytes: joined))
                continue
            }
            result.append(LogicalLine(number: first, text: String(bytes: joined)))
        }
        return result
    }

    private struct PhysicalLine {
        let number: Int
        let bytes: ArraySlice<UInt8>
    }

    /// Physical lines end at "\n"; a final line without "\n" still counts,
    /// but an empty tail after the last "\n" is not a line.
    private static func physicalLines(_ bytes: [UInt8]) -> [PhysicalLine] {
        var lines: [PhysicalLine] = []
        var start = 0
        var number = 0
        for (i, c) in bytes.enumerated() where c == 0x0A {
            number += 1
            lines.append(PhysicalLine(number: number, bytes: bytes[start..<i]))
            start = i + 1
        }
        if start < bytes.count {
            lines.append(PhysicalLine(number: number + 1, bytes: bytes[start...]))
        }
        return lines
    }

    private static func isCommentOrBlank(_ line: ArraySlice<UInt8>) -> Bool {
        guard let c = line.first(where: { !isSpaceByte($0) }) else { return true }
        return c == UInt8(ascii: "#")
    }

    /// A physical line begins a new logical line unless it starts with
    /// whitespace or "#" (comments never terminate a continued entry). An
    /// empty physical line behaves like whitespace: it never ends an entry.
    private static func startsNewEntry(_ line: ArraySlice<UInt8>) -> Bool {
        guard let c = line.first else { return false }
        return c != UInt8(ascii: "#") && !isSpaceByte(c)
    }

    private static func orphanWarning(path: String, bytes: [UInt8]) -> String {
        let shown = String(bytes: bytes.prefix(30))
        let ellipsis = bytes.count > 30 ? "..." : ""
        return "\(path): logical line must not start with whitespace: \"\(shown)\(ellipsis)\""
    }
}
