// PluginLoader.swift - loading a plugin with GNU libltdl (child processes only).
//
// The master never calls this: plugin code runs only in validation children,
// workers and executable-mode daemons, and all of them load through
// `loadChecked`. It opens and checks the file (PluginFileCheck), has libltdl
// load that very file through its descriptor, and checks the descriptor the
// plugin returns against the host's ABI. The entry symbol is looked up as
// libltdl would for the configured name (`<module>_LTX_<entry>` first). The
// module is made resident, so it is never unloaded while its code may still
// run. libltdl calls are made from one thread.

import CLTDL
import MailhostPluginABI

package enum PluginLoader {
    package enum Outcome {
        case loaded(UnsafePointer<mh_plugin_descriptor>, PluginInfo)
        /// One problem per line the host logs; never empty.
        case refused([String])
    }

    package static func loadChecked(_ path: String) -> Outcome {
        switch PluginFileCheck.open(path) {
        case .refused(let problems):
            return .refused(problems)
        case .checked(let file):
            defer { file.close() }
            return load(file)
        }
    }

    private static func load(_ file: CheckedPluginFile) -> Outcome {
        if lt_dlinit() != 0 { return .refused([PluginMessages.loadFailed(lastError())]) }
        guard let handle = lt_dlopen(file.loadPath) else {
            return .refused([PluginMessages.loadFailed("\(file.path): \(lastError())")])
        }
        _ = lt_dlmakeresident(handle)
        let prefixed = file.moduleName + "_LTX_" + PluginABI.entryName
        guard let symbol = lt_dlsym(handle, prefixed) ?? lt_dlsym(handle, PluginABI.entryName) else {
            return .refused([PluginMessages.missingEntry])
        }
        let entry = unsafeBitCast(symbol, to: mh_plugin_entry_fn.self)
        guard let descriptor = entry() else {
            return .refused([PluginMessages.mismatch("descriptor", plugin: "NULL", host: "non-NULL")])
        }
        let info = PluginInfo(descriptor: UnsafeRawPointer(descriptor))
        let problems = info.problems()
        return problems.isEmpty ? .loaded(descriptor, info) : .refused(problems)
    }

    private static func lastError() -> String {
        lt_dlerror().map { String(cString: $0) } ?? "unknown error"
    }
}
