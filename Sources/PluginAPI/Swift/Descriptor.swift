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
    /// Descriptors built so far, newest first. A linked list of a plain
    /// class rather than a dictionary: the first use of a generic collection
    /// in a fresh worker instantiates its metadata and checks Hashable
    /// through the runtime's conformance records (about 0.1 M instructions
    /// of every plugin's cold start). A process builds one, tests a few.
    nonisolated(unsafe) private static var built: BuiltDescriptor?

    private final class BuiltDescriptor {
        let type: ObjectIdentifier
        let descriptor: UnsafePointer<mh_plugin_descriptor>
        let next: BuiltDescriptor?

        init(type: ObjectIdentifier, descriptor: UnsafePointer<mh_plugin_descriptor>, next: BuiltDescriptor?) {
            self.type = type
            self.descriptor = descriptor
            self.next = next
        }
    }

    /// The descriptor for `type`, built on first use; also makes `type` the
    /// service that INIT instantiates in this process.
    public static func descriptor<S: MailService>(for type: S.Type) -> UnsafePointer<mh_plugin_descriptor> {
        Dispatch.current = Dispatch(type)
        let id = ObjectIdentifier(type)
        var node = built
        while let found = node {
            if found.type == id { return found.descriptor }
            node = found.next
        }
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
        built = BuiltDescriptor(type: id, descriptor: result, next: built)
        return result
    }

    /// {id, function} pairs for the model, ended by {0, NULL}; permanent.
    /// Written straight into the table (no array of tuples to instantiate).
    static func callbackTable(for model: ServerModel) -> UnsafePointer<mh_function> {
        let request: (Int, mh_fn)
        switch model {
        case .single, .multi: request = (MH_PLUGIN_SERVE, unsafeBitCast(Thunks.serve, to: mh_fn.self))
        case .trigger: request = (MH_PLUGIN_TRIGGER, unsafeBitCast(Thunks.trigger, to: mh_fn.self))
        case .event: request = (MH_PLUGIN_ACCEPT, unsafeBitCast(Thunks.accept, to: mh_fn.self))
        }
        let table = UnsafeMutablePointer<mh_function>.allocate(capacity: 5)
        table[0] = mh_function(id: UInt32(MH_PLUGIN_PRE_INIT), fn: unsafeBitCast(Thunks.preInit, to: mh_fn.self))
        table[1] = mh_function(id: UInt32(MH_PLUGIN_INIT), fn: unsafeBitCast(Thunks.initialize, to: mh_fn.self))
        table[2] = mh_function(id: UInt32(request.0), fn: request.1)
        table[3] = mh_function(id: UInt32(MH_PLUGIN_PRE_EXIT), fn: unsafeBitCast(Thunks.preExit, to: mh_fn.self))
        table[4] = mh_function(id: 0, fn: nil)
        return UnsafePointer(table)
    }
}
