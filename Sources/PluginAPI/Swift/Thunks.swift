// Thunks.swift - the C callbacks in a Swift plugin's descriptor.
//
// Each thunk turns C arguments into SDK values, calls the service, and
// catches every Swift error: the error is logged through the host and the
// thunk returns -1. Nothing Swift crosses back into the host.
import MailhostPluginABI

enum Thunks {
    /// Runs `body`; an error is logged and becomes -1.
    static func guarded(_ host: ServiceHost, _ what: String, _ body: () throws -> Int32) -> Int32 {
        do {
            return try body()
        } catch {
            host.error("\(Dispatch.current?.name ?? "plugin"): \(what): \(error)")
            return -1
        }
    }

    /// PRE_INIT: the type's static hook; `state` is left for INIT.
    static let preInit: mh_init_fn = { handle, functions, _ in
        let host = ServiceHost(handle: handle, table: HostTable(functions))
        guard let dispatch = Dispatch.current else {
            host.error("plugin: PRE_INIT without a registered service type")
            return -1
        }
        return guarded(host, "pre_init") {
            try dispatch.preInit(host)
            return 0
        }
    }

    static let initialize: mh_init_fn = { handle, functions, state in
        let table = HostTable(functions)
        let host = ServiceHost(handle: handle, table: table)
        guard let dispatch = Dispatch.current else {
            host.error("plugin: INIT without a registered service type")
            return -1
        }
        guard let state else {
            host.error("\(dispatch.name): INIT without a state pointer")
            return -1
        }
        return guarded(host, "init") {
            let service = try dispatch.make(host)
            let box = ServiceState(service: service, table: table, dispatch: dispatch)
            // Released never: the service lives as long as its process.
            state.pointee = Unmanaged.passRetained(box).toOpaque()
            return 0
        }
    }

    static let serve: mh_serve_fn = { handle, state, client in
        guard let box = ServiceState.from(state), let serve = box.dispatch.handlers.serve else { return -1 }
        let host = ServiceHost(handle: handle, table: box.table)
        return guarded(host, "serve") {
            try serve(box.service, Client(handle: client, table: box.table), host)
        }
    }

    static let trigger: mh_trigger_fn = { handle, state, data, length in
        guard let box = ServiceState.from(state), let trigger = box.dispatch.handlers.trigger else { return -1 }
        let host = ServiceHost(handle: handle, table: box.table)
        let bytes: [UInt8] = data.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        return guarded(host, "trigger") {
            try trigger(box.service, bytes, host)
            return 0
        }
    }

    static let accept: mh_accept_fn = { handle, state, client in
        guard let box = ServiceState.from(state), let accept = box.dispatch.handlers.accept else { return -1 }
        let host = ServiceHost(handle: handle, table: box.table)
        return guarded(host, "accept") {
            try accept(box.service, Client(handle: client, table: box.table), host)
            return 0
        }
    }

    static let preExit: mh_pre_exit_fn = { handle, state in
        guard let box = ServiceState.from(state) else { return }
        box.service.preExit(host: ServiceHost(handle: handle, table: box.table))
    }
}
