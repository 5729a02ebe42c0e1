// CommandResolution: what each master.cf command runs, as our master
// resolves it, for `postfix check` (beyond stock).
// Guarantees: the master's rule: `$plugin_directory/<command>.la`, then
// `.so`, existing => plugin; else the executable `$daemon_directory/<command>`
// (an absolute command is that executable); plugin_directory defaults to
// $daemon_directory. A plugin file or its directory that is not owned by
// root, or is group or world writable, is a problem; so is a missing
// executable.

#if canImport(Glibc)
import Glibc
#endif

struct CommandResolution {
    let isPlugin: Bool
    let path: String

    static func resolve(_ command: String, pluginDirectory: String, daemonDirectory: String) -> CommandResolution {
        if command.hasPrefix("/") { return CommandResolution(isPlugin: false, path: command) }
        let base = pluginDirectory + "/" + command
        for suffix in [".la", ".so"] where access(base + suffix, F_OK) == 0 {
            return CommandResolution(isPlugin: true, path: base + suffix)
        }
        return CommandResolution(isPlugin: false, path: daemonDirectory + "/" + command)
    }

    var kind: String { isPlugin ? "plugin" : "executable" }

    /// What is wrong with the file this resolves to (empty: nothing).
    func problems() -> [String] {
        guard isPlugin else {
            return access(path, X_OK) == 0 ? [] : ["no such executable: \(path)"]
        }
        var directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if directory.isEmpty { directory = "/" }
        return Self.ownership(path, what: "plugin") + Self.ownership(directory, what: "plugin directory")
    }

    static func ownership(_ path: String, what: String) -> [String] {
        var st = stat()
        guard stat(path, &st) == 0 else { return ["\(what) \(path): \(String(cString: strerror(errno)))"] }
        var found: [String] = []
        if st.st_uid != 0 { found.append("\(what) \(path) is not owned by root") }
        if st.st_mode & (S_IWGRP | S_IWOTH) != 0 { found.append("\(what) \(path) is group or world writable") }
        return found
    }
}
