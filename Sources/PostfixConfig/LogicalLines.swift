// LogicalLines: main.cf and master.cf text as postconf(5)/master(5) logical
// lines, read by the shared LogicalLineReader (the same rules as the table
// readers). Guarantees: comment and blank lines vanish everywhere (also
// inside a continued entry), a line starting with whitespace continues the
// previous one (newline dropped, its leading whitespace kept), `number` is
// the first physical line of the entry, and a continuation with nothing to
// continue is reported through `warn` with the stock wording and otherwise
// ignored.
import PostfixText

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
        var result: [LogicalLine] = []
        for item in LogicalLineReader.items(Array(text.utf8)) {
            switch item {
            case .line(let number, let bytes):
                result.append(LogicalLine(number: number, text: String(bytes: bytes)))
            case .orphan(let bytes):
                warn(LogicalLineReader.orphanWarning(source: path, text: bytes))
            }
        }
        return result
    }
}
