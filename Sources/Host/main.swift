// main.swift - master(8): start-up sequence, signals and the event loop.
//
// Start-up: umask 077, logging, privilege and option checks, systemd's
// variables (read before import_environment replaces the environment),
// optional wait monitor, detaching, descriptor reservation, main.cf (all that -t reads, as
// stock) and master.cf, open-file limit, environment, lock files, services,
// then the event loop. (Stock reads master.cf after taking its locks; ours
// validates both files before anything runs.)
// A bad configuration at start-up is fatal (like stock); at reload it is
// logged with its file and line and the running configuration stays.
// Plugins are validated in children: at start-up all at once before the
// services start; at reload while the running configuration keeps serving,
// the new one being applied when every validator has answered or timed out.
// A SIGHUP during that wait is remembered: one more reload follows as soon
// as the pending one is applied, however many SIGHUPs arrived.
// Under systemd (NOTIFY_SOCKET, see SystemdNotify) READY=1 follows start-up,
// RELOADING=1 each reload until its configuration runs or is refused, then
// READY=1 again, and STOPPING=1 precedes termination.

import Glibc
import CSystem
import PostfixConfig

if DaemonMode.isRequested(CommandLine.arguments) { DaemonMode.run(CommandLine.arguments) }

let program = "master"
_ = umask(0o077)
_ = cs_signal_ignore(SIGPIPE)
closeInheritedDescriptors()
MasterLog.start(program: program)

if getuid() != 0 { MasterLog.fatal("the master command is reserved for the superuser") }
if getuid() != geteuid() { MasterLog.fatal("the master command must not run as a set-uid process") }

let options: MasterOptions
do {
    options = try MasterOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch MasterOptions.ParseError.message(let text) {
    MasterLog.fatal(text)
}
if options.initMode && getpid() != 1 { MasterLog.fatal("-i is allowed only for PID 1 process") }
if let directory = options.configDirectory { setenv("MAIL_CONFIG", directory, 1) }
let debugMode = options.debugger || getenv("MAIL_DEBUG") != nil
let verbose = options.verbosity > 0 || getenv("MAIL_VERBOSE") != nil

let systemdEnvironment = options.testOnly ? nil : SystemdEnvironment.read(startPid: getpid())
let monitorFD: Int32? = options.waitForInit ? InitMonitor.detach() : nil
if !options.foreground { redirectStandardDescriptors(keepStdout: options.keepStdout || options.initMode) }
if !options.initMode && !options.debugger && !options.foreground && getsid(0) != getpid() && setsid() < 0 {
    MasterLog.fatal("unable to set session and process group ID: \(errnoText())")
}
reserveLowDescriptors()

let configDirectory = getenv("MAIL_CONFIG").map { String(cString: $0) } ?? "/etc/postfix"
let pidPath = "pid/\(program).pid"
// -t asks only whether a master holds the lock: as stock, main.cf alone is
// read, so a broken master.cf (or a slow plugin) cannot make postfix-script
// believe that a master runs.
if options.testOnly {
    let settings = fatalOnConfigError { try MasterSettings.load(MainConfig.load(configDirectory: configDirectory)) }
    applyLogging(settings)
    enterQueueDirectory(settings)
    exit(LockFiles.isRunning(pidPath: pidPath) ? 1 : 0)
}
var configuration = fatalOnConfigError { try Configuration.load(configDirectory: configDirectory, frozen: nil) }
applyLogging(configuration.settings)
raiseOpenFileLimit()
MasterEnvironment.apply(configuration.settings)
enterQueueDirectory(configuration.settings)
let pidLock = takeLock(pidPath, owner: nil)
let dataLock = takeLock(configuration.settings.dataDirectory + "/master.lock",
                        owner: configuration.settings.mailOwner)
if debugMode { Debugger.run(configuration.settings, command: configuration.main) }
// Only now, with the locks held: a second master started by mistake runs no
// plugin code before it stops on the lock.
configuration.applyValidation(PluginValidator.validateNow(configuration.pluginPaths))
configuration.logNotices()

let loop = EventLoop()
let master = Master(loop: loop, configuration: configuration,
                    flags: ChildFlags(debug: options.foreground, verbose: verbose),
                    initMode: options.initMode)
master.startAll(configuration)
/// The reload waiting for its plugin validators, and whether another SIGHUP came meanwhile.
var pendingValidation: ValidationBatch?
var reloadAgain = false
master.otherChildReaped = { pendingValidation?.childReaped($0) }
let systemd = systemdEnvironment.map { SystemdNotify($0, loop: loop, summary: master.summary) }
if let systemd { master.stateChanged = systemd.stateChanged }
_ = SignalPipe(loop: loop, handlers: SignalHandlers(
    reload: reload,
    reap: { master.reapChildren() },
    terminate: { terminate($0) }))
let controlSocket = ControlSocket(loop: loop) { master.statusReport(configDirectory: configDirectory) }
let metricsSocket = ControlSocket(loop: loop, path: ControlSocket.metricsPath, owner: configuration.settings.mailOwner) {
    master.statusReport(configDirectory: configDirectory)
}
MasterLog.info("daemon started -- version \(configuration.settings.version), configuration \(configDirectory)")
// MAINPID= reaches systemd before the -w process it replaces exits.
systemd?.started(forked: monitorFD != nil)
if let monitorFD { InitMonitor.signalReady(monitorFD) }
if let seconds = options.exitAfter {
    loop.after(Double(seconds)) {
        MasterLog.info("master exit time has arrived")
        systemd?.stopping("master exit time has arrived")
        pendingValidation?.cancel()
        exit(0)
    }
}
while true { loop.runOnce() }

// MARK: start-up helpers

func closeInheritedDescriptors() {
    cs_close_from(3)
}

func redirectStandardDescriptors(keepStdout: Bool) {
    let null = open("/dev/null", O_RDWR)
    if null < 0 { return }
    for fd: Int32 in [0, 1, 2] where !(fd == 1 && keepStdout) {
        dup2(null, fd)
    }
    if null > 2 { close(null) }
}

/// Occupies descriptors 3-7 so every later descriptor is above the range
/// children expect theirs in.
func reserveLowDescriptors() {
    for _ in 0..<5 { _ = fcntl(0, F_DUPFD_CLOEXEC, 3) }
}

/// As every stock Postfix program does when its event loop starts, the soft
/// open-file limit goes up to the hard limit (children inherit it), with
/// stock's warning when the result is small.
func raiseOpenFileLimit() {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0 else { MasterLog.fatal("unable to determine open file limit") }
    let wanted = min(limit.rlim_max, rlim_t(Int32.max))
    if limit.rlim_cur < wanted {
        limit.rlim_cur = wanted
        if setrlimit(resource, &limit) < 0 { MasterLog.fatal("unable to determine open file limit") }
    }
    if limit.rlim_cur < 256 {
        MasterLog.warning("could allocate space for only \(limit.rlim_cur) open files")
    }
}

func takeLock(_ path: String, owner: MailOwner?) -> Int32 {
    let outcome = owner.map { owner in owner.asUser { LockFiles.acquire(path) } } ?? LockFiles.acquire(path)
    switch outcome {
    case .locked(let fd):
        LockFiles.writePid(fd)
        return fd
    case .held:
        MasterLog.fatal(LockFiles.heldMessage(path))
    case .failed(let text):
        MasterLog.fatal(text)
    }
}

/// Stock logs the detail of a configuration error as warnings first.
func logConfigWarnings(_ error: Error) {
    (error as? ConfigError)?.warnings.forEach(MasterLog.warning)
}

/// A configuration error at start-up is fatal, as stock.
func fatalOnConfigError<T>(_ load: () throws -> T) -> T {
    do {
        return try load()
    } catch {
        logConfigWarnings(error)
        MasterLog.fatal("\(error)")
    }
}

func enterQueueDirectory(_ settings: MasterSettings) {
    if chdir(settings.queueDirectory) < 0 {
        MasterLog.fatal("chdir \(settings.queueDirectory): \(errnoText())")
    }
}

func applyLogging(_ settings: MasterSettings) {
    MasterLog.configure(syslogName: settings.syslogName, program: program,
                        facility: settings.syslogFacility, sink: settings.logSink,
                        keepsUTF8: settings.smtputf8Enable)
}

// MARK: signal work

func reload() {
    if pendingValidation != nil {
        if !reloadAgain {
            MasterLog.info("reload requested while plugins are validated: reloading again once the pending reload is applied")
        }
        reloadAgain = true
        return
    }
    MasterLog.info("reload -- version \(configuration.settings.version), configuration \(configDirectory)")
    systemd?.reloading()
    var next: Configuration
    do {
        next = try Configuration.load(configDirectory: configDirectory, frozen: configuration.frozen)
    } catch {
        logConfigWarnings(error)
        MasterLog.error("\(error)")
        MasterLog.error("reload failed: keeping the running configuration")
        systemd?.reloadFailed("\(error)")
        return
    }
    let plugins = next.pluginPaths
    if plugins.isEmpty { return applyReload(next) }
    pendingValidation = PluginValidator.start(plugins, loop: loop) { results in
        pendingValidation = nil
        next.applyValidation(results)
        applyReload(next)
    }
}

func applyReload(_ next: Configuration) {
    next.logNotices()
    configuration = next
    MasterEnvironment.apply(next.settings)
    master.apply(next)
    applyLogging(next.settings)
    if reloadAgain {
        reloadAgain = false
        reload()   // tells systemd when it is done
    } else {
        systemd?.reloaded()
    }
}

func terminate(_ signo: Int32) -> Never {
    systemd?.stopping("terminating on signal \(signo)")
    if options.initMode { _exit(0) }
    _ = cs_signal_ignore(SIGTERM)
    MasterLog.bypassPostlog()
    MasterLog.info("terminating on signal \(signo)")
    pendingValidation?.cancel()
    master.terminateChildren()
    _ = cs_signal_default(signo)
    raise(signo)
    _exit(1)
}
