// Trap.swift - a Swift plugin that traps on its first request.
//
// It exists to show, and to test, crash containment for Swift code: a Swift
// runtime trap (here fatalError, delivered as SIGILL or SIGTRAP) ends only the
// worker process; the master logs it and throttles the service as for any
// daemon that fails before serving a client. Never install it for real mail.
//     127.0.0.1:10027 inet n - n - - trap
import PluginAPI

final class TrapService: SingleServer {
    static let name = "trap"
    static let version = "1.0"

    init(host: ServiceHost) throws {
        host.info("trap ready: the first request will trap")
    }

    func serve(client: Client, host: ServiceHost) throws {
        _ = try client.read()
        fatalError("trap plugin: trapping on purpose")
    }
}

@_cdecl("mailhost_plugin_entry")
public func mailhostPluginEntry() -> UnsafePointer<mh_plugin_descriptor> {
    PluginExport.descriptor(for: TrapService.self)
}
