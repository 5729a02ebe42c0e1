// PostfixCommands: the postfix(1) commands, natively (what postfix-script does).
// Guarantees: each command logs the stock words under "<syslog_name>/postfix-script"
// and returns stock's exit status; stop waits at most 5 s before the forced
// stop; nothing here loops without a bound.

#if canImport(Glibc)
import ChildProcesses
import Glibc
#endif
import PostfixConfig
import ToolSupport

struct PostfixCommands {
    let settings: InstanceSettings
    let env: [String]
    let log: ToolLog
    let verbose: Bool
    let isSecondary: Bool
    let instances: [String]

    var master: MasterControl {
        MasterControl(daemonDirectory: settings.daemonDirectory, queueDirectory: settings.queueDirectory, env: env)
    }
    var check: IntegrityCheck { IntegrityCheck(settings: settings, env: env, log: log, verbose: verbose) }

    static let usage = "Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)"

    func run(_ words: [String]) -> Int32 {
        let command = words.first ?? ""
        let args = Array(words.dropFirst())
        if command.hasPrefix("/") { return runProgram(words) }
        guard requireDirectories() else { return 1 }
        switch command {
        case "start", "start-fg": return start(foreground: command == "start-fg")
        case "stop": return stop()
        case "quick-stop": return quickStop()
        case "abort": return signalMaster(SIGTERM, "aborting the Postfix mail system")
        case "drain": return signalMaster(SIGKILL, "stopping the Postfix mail system")
        case "reload": return reload()
        case "flush": return runProgram([settings.commandDirectory + "/postqueue", "-f"])
        case "status" where args == ["services"] || args == ["services-raw"]: return serviceStatus(raw: args[0] == "services-raw")
        case "status" where args.first == "queues": return queueStatus(Array(args.dropFirst()))
        case "status": return status()
        case "check":
            guard check.fatalChecks(report: true) else { return 1 }
            check.warningChecks()
            return 0
        case "set-permissions", "upgrade-configuration":
            return runProgram([settings.daemonDirectory + "/post-install", "create-missing", command] + args)
        case "post-install": return runProgram([settings.daemonDirectory + "/post-install"] + args)
        case "tls":
            guard commandDirectoryPostconfAnswersTLS() else { return 1 }
            return runProgram([settings.daemonDirectory + "/postfix-tls-script"] + args)
        case "logrotate": return LogRotate(settings: settings, master: master, env: env, log: log).run(args)
        case "start_msg": print("Start postfix"); return 0
        case "stop_msg": print("Stop postfix"); return 0
        default:
            log.fatal("unknown command: '\(command)'. \(Self.usage)")
            return 1
        }
    }

    /// The directories postfix-script insists on before any command.
    func requireDirectories() -> Bool {
        var checks: [(String, String)] = [("command", settings.commandDirectory), ("daemon", settings.daemonDirectory),
                                          ("configuration", settings.configDirectory)]
        let shlib = (try? settings.value("shlib_directory")) ?? "no"
        if shlib != "no" { checks.append(("shared library", shlib)) }
        checks.append(("meta", (try? settings.value("meta_directory")) ?? "/etc/postfix"))
        checks.append(("queue", settings.queueDirectory))
        for (what, dir) in checks where !ToolFiles.isDirectory(dir) {
            log.fatal("no Postfix \(what) directory \(dir)!")
            return false
        }
        guard ToolFiles.exists(settings.daemonDirectory + "/master") else {
            log.fatal("no Postfix daemon directory \(settings.daemonDirectory)!")
            return false
        }
        return true
    }

    func start(foreground: Bool) -> Int32 {
        if master.isRunning() {
            log.fatal("the Postfix mail system is already running")
            return 1
        }
        let quick = settings.queueDirectory + "/quick-start"
        if ToolFiles.exists(quick) {
            unlink(quick)
        } else {
            guard check.fatalChecks() else {
                log.fatal("Postfix integrity check failed!")
                return 1
            }
            check.warningChecks()
        }
        log.info("starting the Postfix mail system")
        let masterPath = master.masterPath
        if !foreground {
            guard ((try? ChildProcess.run([masterPath, "-w"], env: env)) ?? 1) == 0 else {
                log.fatal("mail system startup failed")
                return 1
            }
            return 0
        }
        guard instances.isEmpty else {
            log.fatal("start-fg does not support multi_instance_directories")
            return 1
        }
        if getpid() == 1 {
            _ = ChildProcess.exec([masterPath, "-i"], env: env)
            log.fatal("cannot start-fg the master daemon")
            return 1
        }
        let status = (try? ChildProcess.run([masterPath, "-s"], env: env)) ?? 1
        // postfix-script's shell reports a foreground master killed by a signal
        // (dash: strsignal text, except for SIGINT and SIGPIPE); so do we.
        let sig = status - 128
        if sig > 0 && sig < 65 && sig != SIGINT && sig != SIGPIPE, let text = strsignal(sig) {
            fputs(String(cString: text) + "\n", stderr)
        }
        return status
    }

    func requireRunning() -> Bool {
        if master.isRunning() { return true }
        log.fatal("the Postfix mail system is not running")
        return false
    }

    func stop() -> Int32 {
        guard requireRunning() else { return 1 }
        log.info("stopping the Postfix mail system")
        let pid = master.pid()
        master.signal(SIGTERM)
        for _ in 0..<5 {
            sleep(1)
            if !master.isRunning() { return 0 }
            log.info("waiting for the Postfix mail system to terminate")
        }
        log.warn("stopping the Postfix mail system with force")
        if let p = pid, p > 0 { return kill(-p, SIGKILL) == 0 ? 0 : 1 }
        return 1
    }

    func quickStop() -> Int32 {
        let status = stop()
        guard status == 0 else { return status }
        let fd = open(settings.queueDirectory + "/quick-start", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return 1 }
        close(fd)
        return 0
    }

    func signalMaster(_ sig: Int32, _ message: String) -> Int32 {
        guard requireRunning() else { return 1 }
        log.info(message)
        return master.signal(sig) ? 0 : 1
    }

    func reload() -> Int32 {
        guard requireRunning() else { return 1 }
        log.info("refreshing the Postfix mail system")
        let postsuper = settings.commandDirectory + "/postsuper"
        guard ((try? ChildProcess.run([postsuper, "active"], env: env)) ?? 1) == 0 else { return 1 }
        master.signal(SIGHUP)
        _ = try? ChildProcess.run([postsuper], env: env, wait: false)
        return 0
    }

    func status() -> Int32 {
        guard master.isRunning() else {
            log.info("the Postfix mail system is not running")
            return 1
        }
        log.info("the Postfix mail system is running: PID: \(master.pidText().trimmingSpaces)")
        return 0
    }

    /// Beyond stock: the running master's per-service report (ServiceStatus).
    func serviceStatus(raw: Bool) -> Int32 {
        let reader = ServiceStatus(queueDirectory: settings.queueDirectory)
        return printReport(absent: { "the running master offers no per-service status (no \($0)): it is not the mailhost master" },
                           failed: "cannot read the master's per-service status") {
            let report = try reader.read()
            return raw ? report : ServiceStatus.table(report)
        }
    }

    /// Beyond stock: the mailhost qmgr plugin's queue report (QueueStatus),
    /// as tables or, with -j/--json, as the JSON document.
    func queueStatus(_ options: [String]) -> Int32 {
        guard options.count <= 1, options.allSatisfy({ $0 == "-j" || $0 == "--json" }) else {
            log.fatal(QueueStatus.usage)
            return 1
        }
        let reader = QueueStatus(queueDirectory: settings.queueDirectory)
        return printReport(absent: { "no query interface at \($0): is the mailhost qmgr plugin running?" },
                           failed: "cannot read the queue manager's report") {
            let bytes = try reader.read()
            return options.isEmpty ? try reader.table(bytes) : String(decoding: bytes, as: UTF8.self) + "\n"
        }
    }

    /// A beyond-stock status report: needs a running master; a missing
    /// socket (`absent`, given its path) or another failure is a warning and status 1.
    private func printReport(absent: (String) -> String, failed: String, _ report: () throws -> String) -> Int32 {
        guard master.isRunning() else {
            log.info("the Postfix mail system is not running")
            return 1
        }
        do {
            print(try report(), terminator: "")
            return 0
        } catch SocketReport.Failure.absent(let path) {
            log.warn(absent(path))
        } catch {
            log.warn("\(failed): \(error)")
        }
        return 1
    }

    /// postfix-tls-script asks `$command_directory/postconf -T ...` and `-m`,
    /// which only stock postconf answers (this project's postconf does not
    /// have them, which is why it is never installed there). Without them the
    /// script would claim that TLS support is not compiled in; say what is
    /// really wrong instead.
    func commandDirectoryPostconfAnswersTLS() -> Bool {
        let postconf = settings.commandDirectory + "/postconf"
        let status = (try? ChildProcess.run([postconf, "-T", "compile-version"], env: env,
                                            quietStderr: true, quietStdout: true)) ?? 127
        guard status != 0 else { return true }
        log.fatal("\(postconf) cannot answer 'postconf -T' (status \(status)), which 'postfix tls' needs: "
                  + "command_directory must hold Postfix's own postconf, not this project's")
        return false
    }

    func runProgram(_ argv: [String]) -> Int32 {
        do { return try ChildProcess.run(argv, env: env) } catch {
            log.fatal("\(error)")
            return 1
        }
    }
}

extension String {
    var trimmingSpaces: String {
        let bytes = Array(utf8)
        guard let a = bytes.firstIndex(where: { $0 != 0x20 }), let b = bytes.lastIndex(where: { $0 != 0x20 }) else { return "" }
        return String(decoding: bytes[a...b], as: UTF8.self)
    }
}
