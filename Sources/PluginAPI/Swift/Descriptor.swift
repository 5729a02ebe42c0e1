// Descriptor.swift - builds the constant descriptor a Swift plugin's entry
// point returns, and records the service type for the thunks.
//
// The descriptor and everything it points to (strings, callback table) are
// allocated once per type and never freed: the ABI requires them to stay
// valid for the life of the process. The entry boilerplate in a plugin is:
//
//     @_cdecl("mailhost_plugin_entry")
//     public func mailhostPluginEntry() -> UnsafePointer<mh_plugin_descriptor> {
//         PluginExport.descriptor(for: MyService.self)
//     }
import MailhostPluginABI
import PluginRuntimeVersion

public enum PluginExport {
    nonisolated(unsafe) private static var built: [ObjectIdentifier: UnsafePointer<mh_plugin_descriptor>] = [:]

    /// The descriptor for `type`, built on first use; also makes `type` the
    /// service that INIT instantiates in this process.
    public static func descriptor<S: MailService>(for type: S.Type) -> UnsafePointer<mh_plugin_descriptor> {
        Dispatch.current = Dispatch(type)
        if let done = built[ObjectIdentifier(type)] { return done }
        let descriptor = UnsafeMutablePointer<mh_plugin_descriptor>.allocate(capacity: 1)
        descriptor.initialize(to: mh_plugin_descriptor(
            magic: UInt32(MH_PLUGIN_MAGIC),
            abi_major: UInt16(MH_ABI_MAJOR),
            abi_minor: UInt16(MH_ABI_MINOR),
            size: UInt32(MemoryLayout<mh_plugin_descriptor>.size),
            server_model: S.model.rawValue,
            name: permanentMHStr(S.name),
            version: permanentMHStr(S.version),
            swift_runtime: permanentMHStr(SwiftRuntime.version),
            required_capabilities: S.requiredCapabilities.rawValue,
            callbacks: callbackTable(for: S.model)))
        let result = UnsafePointer(descriptor)
        built[ObjectIdentifier(type)] = result
        return result
    }

    /// {id, function} pairs for the model, ended by {0, NULL}; permanent.
    static func callbackTable(for model: ServerModel) -> UnsafePointer<mh_function> {
        var entries: [(Int, mh_fn)] = [(MH_PLUGIN_PRE_INIT, unsafeBitCast(Thunks.preInit, to: mh_fn.self)),
                                       (MH_PLUGIN_INIT, unsafeBitCast(Thunks.initialize, to: mh_fn.self))]
        switch model {
        case .single, .multi: entries.append((MH_PLUGIN_SERVE, unsafeBitCast(Thunks.serve, to: mh_fn.self)))
        case .trigger: entries.append((MH_PLUGIN_TRIGGER, unsafeBitCast(Thunks.trigger, to: mh_fn.self)))
        case .event: entries.append((MH_PLUGIN_ACCEPT, unsafeBitCast(Thunks.accept, to: mh_fn.self)))
        }
        entries.append((MH_PLUGIN_PRE_EXIT, unsafeBitCast(Thunks.preExit, to: mh_fn.self)))
        let table = UnsafeMutablePointer<mh_function>.allocate(capacity: entries.count + 1)
        for (index, entry) in entries.enumerated() {
            table[index] = mh_function(id: UInt32(entry.0), fn: entry.1)
        }
        table[entries.count] = mh_function(id: 0, fn: nil)
        return UnsafePointer(table)
    }
}
