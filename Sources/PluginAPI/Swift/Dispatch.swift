// Dispatch.swift - how the C thunks reach a plugin's Swift type.
//
// C function pointers cannot capture a generic type, so the descriptor
// builder records, per process, closures that know the concrete type. The
// model's request method comes from the model protocol at compile time: no
// dynamic cast to a protocol, whose first use in a fresh worker searches
// every conformance record of the plugin's Swift runtime (about 0.2 M
// instructions). A
// plugin library exports one service, so one registration per process is
// the model; building another descriptor replaces it (tests do this).
import MailhostPluginABI

/// The request method of a service's model, for a service instance known
/// to be of the registering type (the SDK creates it). Built by the model
/// protocols' `modelHandlers`; plugins do not build one.
public struct ModelHandlers {
    let serve: ((AnyObject, Client, ServiceHost) throws -> Int32)?
    let trigger: ((AnyObject, [UInt8], ServiceHost) throws -> Void)?
    let accept: ((AnyObject, Client, ServiceHost) throws -> Void)?

    init(serve: ((AnyObject, Client, ServiceHost) throws -> Int32)? = nil,
         trigger: ((AnyObject, [UInt8], ServiceHost) throws -> Void)? = nil,
         accept: ((AnyObject, Client, ServiceHost) throws -> Void)? = nil) {
        self.serve = serve
        self.trigger = trigger
        self.accept = accept
    }
}

/// A class, not a struct: storing an optional struct in the global below
/// instantiates Optional's generic metadata in a fresh worker (about 30 K
/// instructions of cold start); an optional class reference needs none.
final class Dispatch {
    let name: String
    let model: ServerModel
    let preInit: (ServiceHost) throws -> Void
    let make: (ServiceHost) throws -> any MailService
    let handlers: ModelHandlers

    init<S: MailService>(_ type: S.Type) {
        name = S.name
        model = S.model
        preInit = { try S.preInit(host: $0) }
        make = { try S(host: $0) }
        handlers = S.modelHandlers
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
