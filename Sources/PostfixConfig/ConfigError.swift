// ConfigError: the single error type of the configuration library.
// Guarantees: `message` is the complete, stock-worded text the master would
// log as "fatal: <message>"; `warnings` holds any stock "warning:" lines that
// Postfix prints just before that fatal (e.g. the macro expander's detail).

public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Complete text, e.g. "/x/master.cf: line 12: bad transport type: bogus".
    public let message: String
    /// Warnings stock Postfix logs immediately before the fatal message.
    public let warnings: [String]

    public init(_ message: String, warnings: [String] = []) {
        self.message = message
        self.warnings = warnings
    }

    public var description: String { message }
}
