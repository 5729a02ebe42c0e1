// ServerModel.swift - the SDK's names for the ABI's server models, capability
// bits and log levels. Raw values are the C constants of mailhost_plugin.h, so
// a value converts to the ABI without a lookup table.
@_exported import MailhostPluginABI

/// How the host drives a service (see mh_server_model).
public enum ServerModel: UInt32, Sendable {
    case single = 1
    case multi = 2
    case trigger = 3
    case event = 4
}

/// ServiceHost capabilities a plugin requires (MH_CAP_* bits); the host refuses a
/// plugin that needs one it does not know.
public struct Capabilities: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let parameters = Capabilities(rawValue: 1 << 0)
    public static let logging = Capabilities(rawValue: 1 << 1)
    public static let triggers = Capabilities(rawValue: 1 << 2)
    /// Watches, timers, the loop hook: event and (ABI 1.1) trigger models.
    public static let events = Capabilities(rawValue: 1 << 3)
    /// ABI 1.1: `declare(solitary:longLived:)` and `setWatchdog(seconds:)`.
    public static let lifecycle = Capabilities(rawValue: 1 << 4)
}

/// ABI 1.1: what a watch waits for and what its handler is told (MH_EVENT_*).
public struct EventMask: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let read = EventMask(rawValue: UInt32(MH_EVENT_READ))
    public static let write = EventMask(rawValue: UInt32(MH_EVENT_WRITE))
    /// Reported whatever the mask: the peer hung up.
    public static let hangUp = EventMask(rawValue: UInt32(MH_EVENT_HUP))
    /// Reported whatever the mask: an error is pending.
    public static let error = EventMask(rawValue: UInt32(MH_EVENT_ERROR))
}

/// Log levels of MH_HOST_LOG; `.fatal` makes the host exit the process.
public enum LogLevel: Int32, Sendable {
    case info = 0
    case warning = 1
    case error = 2
    case fatal = 3
}

/// What a multi-model request handler wants done with the connection.
public enum Disposition: Sendable {
    case keep
    case close
}
