// ServiceHostLogHandler.swift - swift-log for plugins: a LogHandler that
// writes every record into the master's log stream through the host's log
// function, so a plugin (and any library it uses) can log with
// `Logger` and the records appear as "postfix/<command>[pid]: ..." beside
// the stock daemons' records.
//
// A separate target (PluginAPILogging) so that plugins that do not want
// swift-log do not link it. Use:
//
//     import PluginAPILogging
//     init(host: ServiceHost) throws {
//         PluginLogging.bootstrap(host: host)          // every Logger in the process
//         let logger = Logger(label: "policy")
//         logger.info("ready", metadata: ["service": "\(host.serviceName)"])
//     }
//
// or, without touching the process-wide LoggingSystem, `host.logger(label:)`.
//
// Levels: trace, debug, info and notice become the host's info; warning its
// warning; error and critical its error. critical never becomes the host's
// fatal: swift-log does not expect a log call to end the process (use
// ServiceHost.fatal for that). Text: "[label: ]message[ key=value ...]",
// metadata sorted by key (provider, then handler, then call-site values; an
// attached error as error=...). Needs swift-log 1.16 (LogEvent).
import Logging
import PluginAPI

public struct ServiceHostLogHandler: LogHandler, @unchecked Sendable {
    // @unchecked: ServiceHost is a handle plus C function pointers, fixed
    // for the life of the process; the host's log function may be called
    // from any thread of the worker.
    private let host: ServiceHost
    private let label: String?
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// `label` prefixes each record when given; `level` is the lowest level logged.
    public init(host: ServiceHost, label: String? = nil, level: Logger.Level = .info,
                metadataProvider: Logger.MetadataProvider? = nil) {
        self.host = host
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(metadata) { _, new in new }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        var text = label.map { $0 + ": " } ?? ""
        text += event.message.description
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        host.log(Self.hostLevel(event.level), text)
    }

    /// The host level of a swift-log level.
    public static func hostLevel(_ level: Logger.Level) -> LogLevel {
        switch level {
        case .trace, .debug, .info, .notice: return .info
        case .warning: return .warning
        case .error, .critical: return .error
        }
    }
}

extension ServiceHost {
    /// A Logger that writes into the master's log stream, without changing
    /// the process-wide LoggingSystem.
    public func logger(label: String, level: Logger.Level = .info) -> Logger {
        Logger(label: label) { _ in ServiceHostLogHandler(host: self, level: level) }
    }
}

public enum PluginLogging {
    nonisolated(unsafe) private static var bootstrapped = false

    /// Makes every Logger of this process log through the host. swift-log
    /// allows one bootstrap per process (one plugin per worker process);
    /// later calls here are ignored instead of trapping. Call it from the
    /// plugin's init, which the host calls once, on its one thread.
    public static func bootstrap(host: ServiceHost, level: Logger.Level = .info) {
        guard !bootstrapped else { return }
        bootstrapped = true
        LoggingSystem.bootstrap { label in ServiceHostLogHandler(host: host, label: label, level: level) }
    }
}
