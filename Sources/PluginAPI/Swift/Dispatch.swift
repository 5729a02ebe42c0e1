// Dispatch.swift - how the C thunks reach a plugin's Swift type.
//
// C function pointers cannot capture a generic type, so the descriptor
// builder records, per process, closures that know the concrete type. A
// plugin library exports one service, so one registration per process is
// the model; building another descriptor replaces it (tests do this).
import MailhostPluginABI

struct Dispatch {
    let name: String
    let model: ServerModel
    let preInit: (ServiceHost) throws -> Void
    let make: (ServiceHost) throws -> any MailService
    let serve: ((any MailService, Client, ServiceHost) throws -> Int32)?
    let trigger: ((any MailService, [UInt8], ServiceHost) throws -> Void)?
    let accept: ((any MailService, Client, ServiceHost) throws -> Void)?

    init<S: MailService>(_ type: S.Type) {
        name = S.name
        model = S.model
        preInit = { try S.preInit(host: $0) }
        make = { try S(host: $0) }
        serve = Dispatch.serveClosure(type)
        trigger = Dispatch.triggerClosure(type)
        accept = Dispatch.acceptClosure(type)
    }

    private static func serveClosure<S: MailService>(_ type: S.Type) -> ((any MailService, Client, ServiceHost) throws -> Int32)? {
        if type is any SingleServer.Type {
            return { service, client, host in
                guard let single = service as? any SingleServer else { throw PluginError("not a single server") }
                try single.serve(client: client, host: host)
                return 0
            }
        }
        if type is any MultiServer.Type {
            return { service, client, host in
                guard let multi = service as? any MultiServer else { throw PluginError("not a multi server") }
                return try multi.serve(client: client, host: host) == .keep ? 0 : -1
            }
        }
        return nil
    }

    private static func triggerClosure<S: MailService>(_ type: S.Type) -> ((any MailService, [UInt8], ServiceHost) throws -> Void)? {
        guard type is any TriggerServer.Type else { return nil }
        return { service, data, host in
            guard let trigger = service as? any TriggerServer else { throw PluginError("not a trigger server") }
            try trigger.trigger(data: data, host: host)
        }
    }

    private static func acceptClosure<S: MailService>(_ type: S.Type) -> ((any MailService, Client, ServiceHost) throws -> Void)? {
        guard type is any EventServer.Type else { return nil }
        return { service, client, host in
            guard let event = service as? any EventServer else { throw PluginError("not an event server") }
            try event.accept(client: client, host: host)
        }
    }

    /// The registration the thunks use.
    nonisolated(unsafe) static var current: Dispatch?
}

/// What INIT stores in the host's `state`: the service instance and the
/// host functions resolved at INIT.
final class ServiceState {
    let service: any MailService
    let table: HostTable
    let dispatch: Dispatch

    init(service: any MailService, table: HostTable, dispatch: Dispatch) {
        self.service = service
        self.table = table
        self.dispatch = dispatch
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> ServiceState? {
        guard let pointer else { return nil }
        return Unmanaged<ServiceState>.fromOpaque(pointer).takeUnretainedValue()
    }
}
