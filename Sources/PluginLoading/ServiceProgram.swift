// ServiceProgram.swift - what a master.cf command runs: a plugin or an executable.
//
// The rule: command X is a plugin when `$plugin_directory/X.so` or
// `$plugin_directory/X.la` exists (X.la first, the order libltdl tries);
// otherwise it is the executable `$daemon_directory/X`, as with the stock
// master. A plugin wins over an executable of the same name. Whether a plugin
// file may be loaded is decided each time it is loaded (PluginFileCheck).

import Glibc

package enum ServiceProgram: Equatable {
    case executable(path: String)
    case plugin(path: String)

    package static func resolve(command: String, pluginDirectory: String, daemonDirectory: String) -> ServiceProgram {
        if let file = pluginFile(base: pluginDirectory + "/" + command) { return .plugin(path: file) }
        return .executable(path: daemonDirectory + "/" + command)
    }

    /// `base.la`, else `base.so`, whichever exists; nil when neither does.
    package static func pluginFile(base: String) -> String? {
        [".la", ".so"].lazy.map { base + $0 }.first { access($0, F_OK) == 0 }
    }

    package var path: String {
        switch self {
        case .executable(let path), .plugin(let path): return path
        }
    }

    package var isPlugin: Bool {
        if case .plugin = self { return true }
        return false
    }
}
