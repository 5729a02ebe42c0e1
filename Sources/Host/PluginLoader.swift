// PluginLoader.swift - loading a plugin with GNU libltdl (child processes only).
//
// The master never calls this: plugin code runs only in validation children
// and workers. libltdl calls are made from one thread; the module is made
// resident, so it is never unloaded while its code may still run.

import CLTDL
import MailhostPluginABI

enum PluginLoader {
    enum Outcome {
        case loaded(UnsafePointer<mh_plugin_descriptor>)
        case failed(String)
    }

    static func load(_ loadName: String) -> Outcome {
        if lt_dlinit() != 0 { return .failed(PluginMessages.loadFailed(lastError())) }
        guard let handle = lt_dlopenext(loadName) else {
            return .failed(PluginMessages.loadFailed(lastError()))
        }
        _ = lt_dlmakeresident(handle)
        guard let symbol = lt_dlsym(handle, PluginABI.entryName) else {
            return .failed(PluginMessages.missingEntry)
        }
        let entry = unsafeBitCast(symbol, to: mh_plugin_entry_fn.self)
        guard let descriptor = entry() else {
            return .failed(PluginMessages.mismatch("descriptor", plugin: "NULL", host: "non-NULL"))
        }
        return .loaded(descriptor)
    }

    private static func lastError() -> String {
        lt_dlerror().map { String(cString: $0) } ?? "unknown error"
    }
}
