// TableNotice: what stock logs while it opens a table (before the jail):
// a warning for a rule it skips, an error for a table it cannot open (its
// lookups then fail), a fatal error that ends the process. Kept for the
// caller to log with its own logger, in the order stock logs them.

public struct TableNotice: Equatable, Sendable, CustomStringConvertible {
    public enum Level: Equatable, Sendable {
        case warning, error, fatal
    }

    public let level: Level
    /// The text, without a "warning: " (etc.) prefix.
    public let text: String

    public init(_ level: Level, _ text: String) {
        self.level = level
        self.text = text
    }

    public var description: String { "\(level): \(text)" }
}
