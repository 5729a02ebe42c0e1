// InstanceEdits: what the stock postmulti-script does for each `-e` action,
// natively: the files of an instance and the primary's instance lists.
// Guarantees: every action but init first requires a prior `postmulti -e init`
// (stock's two refusals); create builds main.cf from $meta_directory/main.cf.proto
// (shared install parameters copied when explicitly set in the primary, else
// commented out; queue_directory, data_directory, `authorized_submit_users =`,
// `master_service_disable = inet` set) and copies master.cf.proto, both via
// <config>/.tmp with master.cf moved in last; create/import then write the
// name and group, update the primary's lists and run
// `postfix -c <dir> set-permissions`; deport and destroy refuse a running
// instance; destroy removes only the known queue subdirectories, the data,
// queue and config directories and the two config files, warning (never
// failing) about what it cannot remove. Failures already reported throw ScriptExit.

#if canImport(Glibc)
import ChildProcesses
import Glibc
#endif
import PostconfKit
import ToolSupport

struct InstanceEdits {
    let primary: InstanceSettings
    let log: ToolLog
    /// Environment for the postfix(1) commands this runs.
    let environment: [String]

    static let sharedParameters = [
        "command_directory", "daemon_directory", "meta_directory", "mail_owner", "setgid_group",
        "sendmail_path", "mailq_path", "newaliases_path", "html_directory", "manpage_directory",
        "sample_directory", "readme_directory", "shlib_directory",
    ]
    static let queueSubdirectories = ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
                                      "incoming", "maildrop", "pid", "private", "public", "saved", "trace"]

    func fatal(_ text: String) -> ScriptExit {
        log.fatal(text)
        return ScriptExit()
    }

    func initialize() throws {
        try edit(primary.configDirectory, [("multi_instance_wrapper", "${command_directory}/postmulti -p --"),
                                           ("multi_instance_enable", "yes")])
    }

    /// postmulti-script's precondition for every action but init.
    func requireInit() throws {
        if ((try? primary.value("multi_instance_wrapper")) ?? "").isEmpty {
            throw fatal("multi_instance_wrapper is empty, run 'postmulti -e init' first.")
        }
        if ((try? primary.value("multi_instance_enable")) ?? "") != "yes" {
            throw fatal("multi_instance_enable!=yes, run 'postmulti -e init' first.")
        }
    }

    // MARK: create / import

    func add(_ target: Instance, action: String, changes: NameChanges, secondaries: [String]) throws {
        let dir = target.configDirectory
        if !(FileOps.isRegularFile(dir + "/main.cf") && FileOps.isRegularFile(dir + "/master.cf")) {
            if action == "import" {
                for file in ["main.cf", "master.cf"] where !FileOps.isRegularFile(dir + "/" + file) {
                    throw fatal("'\(dir)' lacks a \(file) file")
                }
            }
            try buildConfiguration(target)
        }
        try assignNames(dir, changes)
        try updateLists(remove: dir, add: false, secondaries: secondaries)
        guard runPostfix(["-c", dir, "set-permissions"]) == 0 else { throw ScriptExit() }
    }

    func buildConfiguration(_ target: Instance) throws {
        let meta = (try? primary.value("meta_directory")) ?? "/etc/postfix"
        let mainProto = meta + "/main.cf.proto", masterProto = meta + "/master.cf.proto"
        guard FileOps.isRegularFile(mainProto) else { throw fatal("Missing main.cf prototype: \(mainProto)") }
        guard FileOps.isRegularFile(masterProto) else { throw fatal("Missing master.cf prototype: \(masterProto)") }
        let dir = target.configDirectory
        do {
            try FileOps.makeDirectories(dir, mode: 0o755)
            try FileOps.makeDirectories(target.queueDirectory, mode: 0o755)
            try FileOps.makeDirectories(target.dataDirectory, mode: 0o700)
            let tmp = dir + "/.tmp"
            try FileOps.makeDirectories(tmp, mode: 0o700)
            try FileOps.copyPreserving(mainProto, tmp + "/main.cf")
            var settings: [(String, String)] = []
            var commented: [String] = []
            for name in Self.sharedParameters {
                if let v = primary.main.rawValue(name), !v.isEmpty { settings.append((name, v)) } else { commented.append(name) }
            }
            if !commented.isEmpty { try rewrite(tmp + "/main.cf", .commentOut(commented)) }
            try rewrite(tmp + "/main.cf", .set([("queue_directory", target.queueDirectory),
                                                ("data_directory", target.dataDirectory),
                                                ("authorized_submit_users", ""),
                                                ("master_service_disable", "inet")] + settings))
            try FileOps.copyPreserving(masterProto, tmp + "/master.cf")
            for file in ["main.cf", "master.cf"] where rename(tmp + "/" + file, dir + "/" + file) != 0 {
                throw PostmultiError("mv: cannot move '\(tmp)/\(file)' to '\(dir)/\(file)': \(errorText(errno))")
            }
            rmdir(tmp)
        } catch let e as PostmultiError {
            fputs(e.description + "\n", stderr)
            throw ScriptExit()
        }
    }

    /// Writes the changed name and group into the instance's main.cf.
    func assignNames(_ dir: String, _ changes: NameChanges) throws {
        var pairs: [(String, String)] = []
        if let n = changes.name { pairs.append(("multi_instance_name", n)) }
        if let g = changes.group { pairs.append(("multi_instance_group", g)) }
        if !pairs.isEmpty { try edit(dir, pairs) }
    }

    /// The primary's multi_instance_directories becomes `secondaries`; `dir`
    /// leaves (or, with add, joins) alternate_config_directories.
    func updateLists(remove dir: String, add: Bool, secondaries: [String]) throws {
        let alternates = splitOnSpaceAndComma(currentPrimaryValue("alternate_config_directories"))
        let kept = alternates.filter { $0 != dir }
        let found = kept.count != alternates.count
        var pairs = [("multi_instance_directories", secondaries.joined(separator: " "))]
        if add && !found { pairs.append(("alternate_config_directories", (kept + [dir]).joined(separator: " "))) }
        if !add && found { pairs.append(("alternate_config_directories", kept.joined(separator: " "))) }
        try edit(primary.configDirectory, pairs)
    }

    /// The primary main.cf's current raw value (it may have changed since start).
    func currentPrimaryValue(_ name: String) -> String {
        ((try? InstanceSettings(configDirectory: primary.configDirectory))?.main.rawValue(name)) ?? ""
    }

    // MARK: deport / destroy

    func deport(_ target: Instance, secondaries: [String]) throws {
        let dir = target.configDirectory
        guard FileOps.exists(dir + "/main.cf") else {
            try updateLists(remove: dir, add: false, secondaries: secondaries)
            return
        }
        try requireStopped(dir)
        try updateLists(remove: dir, add: true, secondaries: secondaries)
    }

    func requireStopped(_ dir: String) throws {
        if runPostfix(["-c", dir, "status"], quiet: true) == 0 { throw fatal("Instance '\(dir)' is not stopped") }
    }

    func destroy(_ target: Instance, secondaries: [String]) throws {
        let dir = target.configDirectory
        guard FileOps.exists(dir + "/main.cf") else { throw fatal("\(dir)/main.cf file not found") }
        try requireStopped(dir)
        try updateLists(remove: dir, add: false, secondaries: secondaries)
        let own = try? InstanceSettings(configDirectory: dir)
        let queue = own?.queueDirectory ?? target.queueDirectory, data = own?.dataDirectory ?? target.dataDirectory
        if chdir(queue) == 0 {
            let here = FileOps.currentDirectory()
            for sub in Self.queueSubdirectories where !FileOps.removeDirectory(sub) {
                log.warn("\(here)/\(sub): please verify contents and remove by hand")
            }
            _ = chdir("/")
            for path in [data, queue] where !FileOps.removeDirectory(path) {
                log.warn("\(path): please verify contents and remove by hand")
            }
        } else {
            // What postfix(1) says twice when it cannot enter the queue directory.
            let text = "chdir(\(queue)): \(errorText(errno))"
            for _ in 0..<2 { ToolLog(tag: "postfix").log(.fatal, text, alwaysStderr: true) }
        }
        unlink(dir + "/master.cf")
        unlink(dir + "/main.cf")
        if !FileOps.removeDirectory(dir) { log.warn("\(dir): please verify contents and remove by hand") }
    }

    // MARK: helpers

    func edit(_ dir: String, _ pairs: [(String, String)]) throws {
        try rewrite(dir + "/main.cf", .set(pairs))
    }

    func rewrite(_ path: String, _ change: MainCfEdit) throws {
        do {
            guard let old = try AtomicFile.readIfPresent(path) else {
                throw PostmultiError("open \(path) for reading: No such file or directory")
            }
            try AtomicFile.replace(path, with: MainCfEditor.apply(change, to: old))
        } catch let e as FileError {
            ToolLog(tag: "postconf").log(.fatal, e.description, alwaysStderr: true)
            throw ScriptExit()
        }
    }

    /// `postfix ARGS` from the primary's command directory.
    func runPostfix(_ args: [String], quiet: Bool = false) -> Int32 {
        let argv = [primary.commandDirectory + "/postfix"] + args
        return (try? ChildProcess.run(argv, env: environment, quietStderr: quiet, quietStdout: quiet)) ?? 127
    }

    func splitOnSpaceAndComma(_ s: String) -> [String] {
        s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "," }).map(String.init)
    }
}

/// The script part failed and already said why.
struct ScriptExit: Error {}
