// ToolLog: how postfix(1), postmulti(1) and their script parts report.
// Guarantees: every message goes to syslog (mail facility) under the given
// tag, or, once `ToolLog.configure` named a PostlogClient (main.cf sets
// maillog_file), through postlogd / maillog_file instead; and, when stderr is a terminal, also to stderr as "<tag>: <level>text"
// the way stock postlog/msg_vstream print it (info carries no level word).
// `alwaysStderr` makes the message go to stderr even without a tty, for
// the binaries' own fatal errors, which stock prints unconditionally.
// Every message is made printable first, on the terminal as in the log
// (PrintableText, as stock's msg_output): non-ASCII stays only once
// `configure` has read smtputf8_enable = yes from main.cf.

#if canImport(Glibc)
import Glibc
#endif
import CSystem
import PostfixText

public enum LogLevel: String { case info = "", warning = "warning: ", error = "error: ", fatal = "fatal: " }

public struct ToolLog {
    /// Set once at start-up from the instance's main.cf; nil = syslog.
    nonisolated(unsafe) public static var maillog: PostlogClient?
    /// smtputf8_enable as main.cf sets it; off until `configure` read it,
    /// as stock's util_utf8_enable is off until main.cf is read.
    nonisolated(unsafe) public private(set) static var keepsUTF8 = false

    /// Follows the instance's main.cf: maillog_file and smtputf8_enable.
    /// A smtputf8_enable that is not a boolean is thrown (stock's fatal).
    public static func configure(_ settings: InstanceSettings) throws {
        keepsUTF8 = try settings.main.boolean("smtputf8_enable")
        maillog = PostlogClient(settings)
    }

    public let tag: String
    public let toTerminal: Bool

    public init(tag: String) {
        self.tag = tag
        toTerminal = isatty(2) != 0
    }

    public func log(_ level: LogLevel, _ text: String, alwaysStderr: Bool = false) {
        let priority: Int32
        switch level {
        case .info: priority = LOG_INFO
        case .warning: priority = LOG_WARNING
        case .error: priority = LOG_ERR
        case .fatal: priority = LOG_CRIT
        }
        let text = PrintableText.text(text, utf8: Self.keepsUTF8)
        // The terminal first, then the log, in stock's order.
        if toTerminal || alwaysStderr {
            fputs("\(tag): \(level.rawValue)\(text)\n", stderr)
        }
        if let client = Self.maillog {
            client.log(tag: tag, text: level.rawValue + text)
        } else {
            cs_openlog(tag, LOG_MAIL)
            cs_syslog(priority, level.rawValue + text)
            cs_closelog()
        }
    }

    public func info(_ t: String) { log(.info, t) }
    public func warn(_ t: String) { log(.warning, t) }
    public func fatal(_ t: String) { log(.fatal, t) }
}
