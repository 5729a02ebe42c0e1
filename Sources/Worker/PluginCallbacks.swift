// PluginCallbacks.swift - typed access to a plugin's {id, function} table.
//
// Only the ids the host knows are looked up; unknown ids in the table are
// ignored, as the ABI promises.

import MailhostPluginABI

struct PluginCallbacks {
    static let initialize = UInt32(MH_PLUGIN_INIT)
    static let preInit = UInt32(MH_PLUGIN_PRE_INIT)

    private let table: UnsafePointer<mh_function>?

    init(_ descriptor: UnsafePointer<mh_plugin_descriptor>) {
        table = descriptor.pointee.callbacks
    }

    func lookup(_ id: UInt32) -> mh_fn? {
        guard var entry = table else { return nil }
        while entry.pointee.id != 0 {
            if entry.pointee.id == id { return entry.pointee.fn }
            entry += 1
        }
        return nil
    }

    func initFunction(_ id: UInt32) -> mh_init_fn? { lookup(id).map { unsafeBitCast($0, to: mh_init_fn.self) } }
    var serve: mh_serve_fn? { lookup(UInt32(MH_PLUGIN_SERVE)).map { unsafeBitCast($0, to: mh_serve_fn.self) } }
    var trigger: mh_trigger_fn? { lookup(UInt32(MH_PLUGIN_TRIGGER)).map { unsafeBitCast($0, to: mh_trigger_fn.self) } }
    var accept: mh_accept_fn? { lookup(UInt32(MH_PLUGIN_ACCEPT)).map { unsafeBitCast($0, to: mh_accept_fn.self) } }
    var preExit: mh_pre_exit_fn? { lookup(UInt32(MH_PLUGIN_PRE_EXIT)).map { unsafeBitCast($0, to: mh_pre_exit_fn.self) } }
}
