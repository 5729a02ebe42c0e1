// IntegrityCheck: what `postfix check` verifies, natively.
// Guarantees: directories that $meta_directory/postfix-files marks
// create-missing ("c") under the queue and data directories are created with
// the listed owner, group and mode; master.cf must exist and parse (the
// postlog service must exist when maillog_file is set); every master.cf
// command must resolve to an executable or a sound plugin (with `report`,
// `postfix check` says which, per service); `postsuper` repairs the queue as
// stock check-fatal does. Warnings name owners and modes as stock does.

#if canImport(Glibc)
import ChildProcesses
import DirectoryEntries
import Glibc
#endif
import PostfixConfig
import ToolSupport

struct IntegrityCheck {
    let settings: InstanceSettings
    let env: [String]
    let log: ToolLog
    let verbose: Bool

    struct DirectoryRule {
        let path: String, owner: String, group: String?, mode: mode_t, create: Bool
    }

    /// check-fatal; false after logging the reason.
    func fatalChecks(report: Bool = false) -> Bool {
        let rules = directoryRules()
        for rule in rules where rule.create && !ToolFiles.exists(rule.path) {
            guard create(rule) else {
                log.fatal("unable to create missing queue directories")
                return false
            }
        }
        let config = settings.configDirectory
        guard ToolFiles.exists(config + "/master.cf") else {
            log.fatal("no \(config)/master.cf file found")
            return false
        }
        guard let master = parseMaster() else { return false }
        if !((try? settings.value("maillog_file")) ?? "").isEmpty,
           !master.entries.contains(where: { $0.name == "postlog" && $0.type.rawValue == "unix-dgram" }) {
            log.fatal("missing 'postlog' service in master.cf - run 'postfix upgrade-configuration'")
            return false
        }
        checkCommands(master, report: report)
        let postsuper = settings.commandDirectory + "/postsuper"
        return ((try? ChildProcess.run([postsuper], env: env)) ?? 1) == 0
    }

    /// check-warn: ownership and permission warnings; never fails.
    func warningChecks() {
        warnOutsideSymlinks(settings.daemonDirectory)
        for rule in directoryRules() {
            var st = stat()
            guard stat(rule.path, &st) == 0 else { continue }
            if let uid = userID(rule.owner), st.st_uid != uid {
                log.warn("not owned by \(rule.owner): \(rule.path)")
            }
            if rule.mode & 0o022 == 0 && st.st_mode & 0o022 != 0 {
                log.warn("group or other writable: \(rule.path)")
            }
        }
    }

    /// Debian's check: symlinks in the daemon directory pointing elsewhere,
    /// reported in directory order as "<dir>/./<name>".
    func warnOutsideSymlinks(_ dir: String) {
        guard let handle = opendir(dir) else { return }
        defer { closedir(handle) }
        for _ in 0..<100_000 {
            guard let entry = readdir(handle) else { break }
            let name = DirectoryEntry.name(entry)
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink(dir + "/" + name, &buffer, buffer.count - 1)
            guard n > 0 else { continue }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") || target.split(separator: "/").contains("..") {
                log.warn("symlink leaves directory: \(dir)/./\(name)")
            }
        }
    }

    func parseMaster() -> MasterConfig? {
        do {
            let options = try MasterParseOptions(main: settings.main)
            return try MasterConfig.load(configDirectory: settings.configDirectory, options: options)
        } catch {
            log.fatal("\(error)")
            return nil
        }
    }

    /// Beyond stock: where each command resolves (with `report`, one info
    /// line per service), and warnings for missing executables and for
    /// plugins or plugin directories that are not root-owned or are writable.
    func checkCommands(_ master: MasterConfig, report: Bool) {
        let daemonDir = settings.daemonDirectory
        let pluginDir = (try? settings.value("plugin_directory")) ?? daemonDir
        for entry in master.entries {
            let resolved = CommandCheck(command: entry.command, pluginDirectory: pluginDir, daemonDirectory: daemonDir)
            let service = "service \(entry.name)/\(entry.type.rawValue): command \(entry.command)"
            if report { log.info("\(service): \(resolved.kind) \(resolved.program.path)") }
            for problem in resolved.problems() { log.warn("\(master.path): line \(entry.line): \(service): \(problem)") }
        }
    }

    /// postfix-files "d" entries under the queue and data directories.
    func directoryRules() -> [DirectoryRule] {
        let meta = (try? settings.value("meta_directory")) ?? "/etc/postfix"
        guard let bytes = try? ToolFiles.read(meta + "/postfix-files") else { return [] }
        let owner = (try? settings.value("mail_owner")) ?? "postfix"
        let group = (try? settings.value("setgid_group")) ?? "postdrop"
        let queue = settings.queueDirectory, data = settings.dataDirectory
        var rules: [DirectoryRule] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 5, f[1] == "d" else { continue }
            let path = f[0].replacingPrefix("$queue_directory", with: queue)
                           .replacingPrefix("$data_directory", with: data)
            guard path != f[0], let mode = mode_t(f[4], radix: 8) else { continue }
            let sub = { (s: String) in s == "$mail_owner" ? owner : s == "$setgid_group" ? group : s }
            rules.append(DirectoryRule(path: path, owner: sub(f[2]), group: f[3] == "-" ? nil : sub(f[3]),
                                       mode: mode, create: f.count > 5 && f[5].contains("c")))
        }
        return rules
    }

    func create(_ rule: DirectoryRule) -> Bool {
        guard mkdir(rule.path, rule.mode) == 0 || errno == EEXIST else { return false }
        let uid = userID(rule.owner) ?? 0
        let gid = rule.group.flatMap(groupID) ?? gid_t.max
        return chown(rule.path, uid, gid) == 0 && chmod(rule.path, rule.mode) == 0
    }
}

func userID(_ name: String) -> uid_t? { getpwnam(name).map { $0.pointee.pw_uid } }
func groupID(_ name: String) -> gid_t? { getgrnam(name).map { $0.pointee.gr_gid } }

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
