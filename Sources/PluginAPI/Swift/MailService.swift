// MailService.swift - the protocols a Swift plugin conforms to, one per
// server model.
//
// A service is a class: the host creates one instance per process (INIT) and
// hands it every request, so it may keep state between requests. Methods may
// throw; the SDK catches every error at the C boundary, logs it through the
// host and returns -1, so no Swift error ever crosses the ABI.

/// What every plugin declares, whatever its model.
public protocol MailService: AnyObject {
    /// The plugin name in the descriptor, e.g. "echo".
    static var name: String { get }
    /// Free-form plugin version.
    static var version: String { get }
    /// ServiceHost capabilities the plugin cannot run without.
    static var requiredCapabilities: Capabilities { get }
    /// The model; set by the model protocols below, not by plugins.
    static var model: ServerModel { get }
    /// How the SDK calls the model's request method; set by the model
    /// protocols below, not by plugins. Chosen at compile time, so a fresh
    /// worker does not search the runtime's conformance records for it.
    static var modelHandlers: ModelHandlers { get }

    /// PRE_INIT: called in the service process as root, before the chroot
    /// and the privilege drop, for what only root may do (e.g. create a
    /// root-only socket). The instance does not exist yet; keep what INIT
    /// needs in static storage. Throwing makes the process exit.
    static func preInit(host: ServiceHost) throws

    /// INIT: called in the service process after the privilege drop and
    /// chroot, before the first client. Throwing makes the process exit.
    init(host: ServiceHost) throws

    /// PRE_EXIT: called before an orderly exit.
    func preExit(host: ServiceHost)
}

extension MailService {
    public static var version: String { "0" }
    public static var requiredCapabilities: Capabilities { [.parameters, .logging] }
    public static func preInit(host: ServiceHost) throws {}
    public func preExit(host: ServiceHost) {}
}

/// One client at a time; the host closes the connection when `serve` returns.
public protocol SingleServer: MailService {
    func serve(client: Client, host: ServiceHost) throws
}

extension SingleServer {
    public static var model: ServerModel { .single }
    public static var modelHandlers: ModelHandlers {
        ModelHandlers(serve: { service, client, host in
            try unsafeDowncast(service, to: Self.self).serve(client: client, host: host)
            return 0
        })
    }
}

/// Many clients per process; `serve` runs once per request (whenever the
/// connection is readable) and says whether to keep the connection.
public protocol MultiServer: MailService {
    func serve(client: Client, host: ServiceHost) throws -> Disposition
}

extension MultiServer {
    public static var model: ServerModel { .multi }
    public static var modelHandlers: ModelHandlers {
        ModelHandlers(serve: { service, client, host in
            try unsafeDowncast(service, to: Self.self).serve(client: client, host: host) == .keep ? 0 : -1
        })
    }
}

/// One-shot requests such as wakeups: `trigger` gets the bytes read. Since
/// ABI 1.1 a trigger server that adds `.events` to its requiredCapabilities
/// may also watch descriptors and set timers between wakeups (as qmgr(8)).
public protocol TriggerServer: MailService {
    func trigger(data: [UInt8], host: ServiceHost) throws
}

extension TriggerServer {
    public static var model: ServerModel { .trigger }
    public static var modelHandlers: ModelHandlers {
        ModelHandlers(trigger: { service, data, host in
            try unsafeDowncast(service, to: Self.self).trigger(data: data, host: host)
        })
    }
}

/// Long-lived: `accept` takes the connection and drives it with the host's
/// watch and timer functions, ending it with `host.done(client)`.
public protocol EventServer: MailService {
    func accept(client: Client, host: ServiceHost) throws
}

extension EventServer {
    public static var model: ServerModel { .event }
    public static var requiredCapabilities: Capabilities { [.parameters, .logging, .events] }
    public static var modelHandlers: ModelHandlers {
        ModelHandlers(accept: { service, client, host in
            try unsafeDowncast(service, to: Self.self).accept(client: client, host: host)
        })
    }
}
