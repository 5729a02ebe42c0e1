// ServiceHost.swift - what a Swift plugin sees of the host: logging at levels,
// the service's name, type and master.cf arguments, triggers, orderly exit.
// (Not "Host": that name clashes with Foundation.Host in code that imports Foundation.)
//
// A ServiceHost is a small value (opaque handle + resolved functions) handed to
// every callback. Functions the host does not provide degrade: logging goes
// to stderr, lookups return their defaults; nothing traps.
import Glibc
import MailhostPluginABI

public struct ServiceHost {
    /// The host's opaque process handle (mh_host *).
    public let handle: OpaquePointer?
    let table: HostTable

    public init(handle: OpaquePointer?, table: HostTable) {
        self.handle = handle
        self.table = table
    }

    // MARK: logging

    /// Logs one record into the master's log stream. `.fatal` exits the
    /// process (the host's rule).
    public func log(_ level: LogLevel, _ text: String) {
        guard let log = table.log else {
            fputs(text + "\n", stderr)
            if level == .fatal { Glibc.exit(1) }
            return
        }
        var copy = text
        copy.withUTF8 { bytes in
            let base = bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            log(handle, level.rawValue, base, bytes.count)
        }
    }

    public func info(_ text: String) { log(.info, text) }
    public func warning(_ text: String) { log(.warning, text) }
    public func error(_ text: String) { log(.error, text) }

    /// Logs and exits with status 1; never returns, even if the host's log
    /// function were to return.
    public func fatal(_ text: String) -> Never {
        log(.fatal, text)
        Glibc.exit(1)
    }

    // MARK: the service

    /// The master.cf service name, e.g. "policy" or "127.0.0.1:10025".
    public var serviceName: String {
        guard let name = table.serviceName else { return "" }
        return copyOutString { name(handle, $0, $1) }
    }

    /// The master.cf service type: "unix", "inet", "fifo", "pass", ...
    public var serviceType: String {
        guard let type = table.serviceType else { return "" }
        return copyOutString { type(handle, $0, $1) }
    }

    /// The master.cf arguments after the command, `-o` pairs excluded.
    public var arguments: [String] {
        guard let count = table.argCount, let arg = table.arg else { return [] }
        let total = min(count(handle), 4096)
        return (0..<total).map { index in copyOutString { arg(handle, index, $0, $1) } }
    }

    // MARK: other services

    /// Sends a trigger to "public/x", "private/x" or a master.cf inet name.
    public func sendTrigger(service: String, data: [UInt8]) throws {
        guard let send = table.sendTrigger else { throw PluginError("host provides no send_trigger") }
        let status = withMHStr(service) { name in
            data.withUnsafeBufferPointer { bytes in
                send(handle, name, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                     bytes.count)
            }
        }
        if status < 0 { throw PluginError("cannot send trigger to \(service)") }
    }

    // MARK: ABI 1.1: life cycle

    /// Declares the service solitary (process limit 1, else the process
    /// ends with stock's fatal text) and/or long-lived (max_idle and max_use
    /// no longer apply), as qmgr(8) does. Call it from INIT.
    public func declare(solitary: Bool, longLived: Bool) throws {
        guard let declare = table.declare else { throw PluginError("host provides no declare (ABI 1.1)") }
        let flags = (solitary ? UInt32(MH_DECLARE_SOLITARY) : 0) | (longLived ? UInt32(MH_DECLARE_LONG_LIVED) : 0)
        if declare(handle, flags) < 0 { throw PluginError("declare refused") }
    }

    /// Sets the watchdog time for later callbacks (as qmgr passes
    /// qmgr_daemon_timeout).
    public func setWatchdog(seconds: Int64) throws {
        guard let set = table.setWatchdog else { throw PluginError("host provides no set_watchdog (ABI 1.1)") }
        if set(handle, seconds) < 0 { throw PluginError("bad watchdog time \(seconds) s") }
    }

    /// Orderly exit: PRE_EXIT runs first, then the process ends.
    public func exit(status: Int32 = 0) -> Never {
        table.exit?(handle, status)
        Glibc.exit(status)
    }
}

/// An error a plugin (or the SDK) throws; its text is what gets logged.
public struct PluginError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
