// ServiceProgram.swift - what a master.cf command runs: a plugin or an executable.
//
// The rule: command X is a plugin when `$plugin_directory/X.so` or
// `$plugin_directory/X.la` exists (X.la first, the order libltdl tries);
// otherwise it is the executable `$daemon_directory/X`, as with the stock
// master. A plugin wins over an executable of the same name. A plugin file
// and its directory must be owned by root and not group or world writable
// (the rule Postfix applies to dynamicmaps.cf libraries).

import Glibc

enum ServiceProgram: Equatable {
    case executable(path: String)
    case plugin(path: String, loadName: String)

    static func resolve(command: String, pluginDirectory: String, daemonDirectory: String) -> ServiceProgram {
        let base = pluginDirectory + "/" + command
        for suffix in [".la", ".so"] where access(base + suffix, F_OK) == 0 {
            return .plugin(path: base + suffix, loadName: base)
        }
        return .executable(path: daemonDirectory + "/" + command)
    }

    var path: String {
        switch self {
        case .executable(let path), .plugin(let path, _): return path
        }
    }

    var isPlugin: Bool {
        if case .plugin = self { return true }
        return false
    }
}

enum PluginFileCheck {
    /// Problems with the ownership or mode of a plugin and its directory.
    static func problems(path: String) -> [String] {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return check(path) + check(directory.isEmpty ? "/" : directory)
    }

    private static func check(_ path: String) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return [PluginMessages.loadFailed("\(path): \(errnoText())")]
        }
        var found: [String] = []
        if info.st_uid != 0 { found.append(PluginMessages.notRootOwned(path)) }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 { found.append(PluginMessages.writable(path)) }
        return found
    }
}
