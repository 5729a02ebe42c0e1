// Master.swift - services, processes and the spawn policy.
//
// The master starts a process for a service when one of its listeners is
// readable, no process of it is idle, it is not throttled and it is below
// its process limit; it never accepts connections itself. Children report
// busy/idle on the status channel. A child that fails before it ever served
// a client throttles its service for service_throttle_time. All of it runs
// on the one event loop thread.

import Glibc
import PostfixConfig
import CSystem

final class Master {
    let loop: EventLoop
    private(set) var settings: MasterSettings
    private var main: MainConfig
    let flags: ChildFlags
    let initMode: Bool
    private var services: [String: Service] = [:]
    private var serviceOrder: [String] = []
    private var children = ChildTable()
    private var generation: UInt32 = 0
    private var childEnvironment: [String] = []
    private let flowPipe: (read: Int32, write: Int32)
    /// master.cf inet services by name, handed to plugin workers for
    /// send_trigger; rebuilt with each configuration.
    private var inetServices: [String: [ResolvedAddress]] = [:]
    private lazy var wakeups = WakeupSender(loop: loop)
    /// Told of each reaped child that is not a service process (a plugin
    /// validator, see PluginValidator).
    var otherChildReaped: (pid_t) -> Void = { _ in }
    /// Told whenever a service's processes or throttling may have changed
    /// (see summary()); it must be cheap: it runs on every status update.
    var stateChanged: () -> Void = {}

    init(loop: EventLoop, configuration: Configuration, flags: ChildFlags, initMode: Bool) {
        self.loop = loop
        self.settings = configuration.settings
        self.main = configuration.main
        self.flags = flags
        self.initMode = initMode
        var fds: [Int32] = [-1, -1]
        if cs_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) < 0 {
            MasterLog.fatal("pipe: \(errnoText())")
        }
        flowPipe = (fds[0], fds[1])
        childEnvironment = MasterEnvironment.current()
    }

    // MARK: services

    /// Starts every service of a freshly parsed master.cf. At start-up a
    /// service that cannot listen is fatal, as for the stock master.
    func startAll(_ configuration: Configuration) {
        inetServices = configuration.services.inetServicesByName
        for entry in configuration.services.entries {
            if let failure = startService(entry, program: program(for: entry, in: configuration)) {
                MasterLog.fatal(failure)
            }
        }
    }

    /// What a service runs: its resolved plugin, else the executable in daemon_directory.
    private func program(for entry: MasterEntry, in configuration: Configuration) -> ServiceProgram {
        configuration.programs[entry.key] ?? .executable(path: settings.daemonDirectory + "/" + entry.command)
    }

    /// Creates listeners and the status channel; returns an error text.
    private func startService(_ entry: MasterEntry, program: ServiceProgram) -> String? {
        let backlog = Int32(max(entry.processLimit, settings.defaultProcessLimit))
        let fds: [Int32]
        do {
            fds = try Listeners.open(entry, backlog: backlog, owner: settings.mailOwner)
        } catch let error as ListenError {
            return error.message + descriptorShortage(errno, entry)
        } catch {
            return "\(error)"
        }
        guard let channel = StatusChannel() else {
            let code = errno
            Listeners.closeAll(fds)
            return "socketpair: \(errnoText(code))" + descriptorShortage(code, entry)
        }
        let service = Service(entry: entry, program: program,
                              throttleDelay: settings.serviceThrottleTime, listenFDs: fds, channel: channel)
        services[entry.key] = service
        serviceOrder.append(entry.key)
        watchStatus(service)
        startWakeups(service)
        updateListening(service)
        return nil
    }

    /// Says why a service did not fit when the open-file limit is the cause.
    private func descriptorShortage(_ code: Int32, _ entry: MasterEntry) -> String {
        guard code == EMFILE else { return "" }
        return " -- open file limit \(Self.openFileLimit()) reached at service \(entry.name)(\(entry.canonicalName)):"
            + " each service takes two descriptors plus one per listener"
    }

    /// The soft RLIMIT_NOFILE: no descriptor gets a number at or above it.
    static func openFileLimit() -> Int32 {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int32.max }
        return Int32(clamping: limit.rlim_cur)
    }

    /// Applies a new entry to a running service and retires its children.
    private func restartService(_ service: Service, with entry: MasterEntry, program: ServiceProgram) {
        service.entry = entry
        service.program = program
        service.throttleDelay = settings.serviceThrottleTime
        service.wakeupDeferred = entry.wakeupConditional
        replaceChannel(service)
        loop.cancel(service.wakeupTimer)
        service.wakeupTimer = nil
        service.nextWakeup = nil
        startWakeups(service)
        updateListening(service)
    }

    /// Stops a removed service: its processes are terminated at once.
    private func removeService(_ service: Service) {
        service.removed = true
        loop.cancel(service.wakeupTimer)
        loop.cancel(service.throttleTimer)
        closeChannel(service)
        setListening(service, false)
        for child in children.all where child.service === service {
            child.killedByMaster = true
            kill(child.pid, SIGTERM)
        }
        Listeners.closeAll(service.listenFDs)
        services.removeValue(forKey: service.entry.key)
        serviceOrder.removeAll { $0 == service.entry.key }
        stateChanged()
    }

    /// A new channel: children holding the old one see EOF and retire.
    private func replaceChannel(_ service: Service) {
        if let channel = StatusChannel() {
            closeChannel(service)
            install(channel, service)
            return
        }
        let code = errno
        let old = service.channel
        guard code == EMFILE, max(old.masterFD, old.childFD) < Self.openFileLimit() else {
            MasterLog.warning("service \(service.label): socketpair: \(errnoText(code)) -- keeping the old status channel")
            return
        }
        // No descriptor to spare: close the old channel first, as stock always
        // does. Its two descriptors are below the limit, so the new pair fits.
        closeChannel(service)
        guard let channel = StatusChannel() else { MasterLog.fatal("socketpair: \(errnoText())") }
        install(channel, service)
    }

    private func closeChannel(_ service: Service) {
        loop.unwatch(service.channel.masterFD)
        service.channel.close()
    }

    private func install(_ channel: StatusChannel, _ service: Service) {
        service.channel = channel
        watchStatus(service)
    }

    // MARK: listening and spawning

    func updateListening(_ service: Service) {
        stateChanged()
        if !service.shouldListen && !service.throttled && !service.removed
            && service.availableProcesses == 0 && service.stressEligible {
            warnProcessLimit(service)
        }
        setListening(service, service.shouldListen)
    }

    private func setListening(_ service: Service, _ wanted: Bool) {
        guard wanted != service.listening else { return }
        service.listening = wanted
        if service.listenHandler == nil {
            // unowned: the master lives as long as the process, and a removed
            // service stops listening before it can be freed.
            service.listenHandler = { [unowned self, unowned service] _ in
                self.spawn(service)
            }
        }
        for fd in service.listenFDs {
            if wanted, let handler = service.listenHandler {
                loop.watchReadable(fd, handler)
            } else {
                loop.unwatch(fd)
            }
        }
    }

    private func warnProcessLimit(_ service: Service) {
        let now = EventLoop.now()
        guard service.busyWarningTime < now - 1000 else { return }
        service.busyWarningTime = now
        MasterLog.warning("service \"\(service.entry.name)\" (\(service.entry.canonicalName)) has reached its process limit \"\(service.entry.processLimit)\": new clients may experience noticeable delays")
        MasterLog.warning("to avoid this condition, increase the process count in master.cf or reduce the service time per client")
        MasterLog.warning("see http://www.postfix.org/STRESS_README.html for examples of stress-adapting configuration settings")
    }

    private func spawn(_ service: Service) {
        guard service.shouldListen else {
            updateListening(service)
            return
        }
        enterStressIfNeeded(service)
        generation &+= 1
        let argv = ChildArguments.build(service.entry, flags: flags,
                                        stressActive: EventLoop.now() < service.stressExpiry)
        let environment = childEnvironment + ["GENERATION=" + String(generation, radix: 8)]
        let descriptors = ChildDescriptors(flowRead: flowPipe.read, flowWrite: flowPipe.write,
                                           status: service.channel.childFD, listeners: service.listenFDs)
        let pid: pid_t
        switch service.program {
        case .executable(let path):
            pid = Spawner.spawn(path: path, argv: argv, environment: environment, descriptors: descriptors)
        case .plugin(let path):
            let spec = PluginWorkerSpec(entry: service.entry, path: path, main: main,
                                        settings: settings, generation: generation,
                                        stressActive: EventLoop.now() < service.stressExpiry,
                                        inetServices: inetServices)
            pid = Spawner.spawnPlugin(spec, descriptors: descriptors)
        }
        if pid < 0 {
            MasterLog.warning("master_spawn: fork: \(errnoText()) -- throttling")
            throttle(service)
            return
        }
        children.insert(ChildProcess(pid: pid, service: service, generation: generation))
        service.totalProcesses += 1
        service.availableProcesses += 1
        service.counters.spawned()
        if service.wakeupDeferred {
            service.wakeupDeferred = false
            startWakeups(service)
        }
        updateListening(service)
    }

    /// Near the process limit, stress-eligible services restart with
    /// `stress=yes` for the next 1000 seconds.
    private func enterStressIfNeeded(_ service: Service) {
        guard service.stressEligible, service.totalProcesses + 1 >= service.processLimit else { return }
        let now = EventLoop.now()
        guard now >= service.stressExpiry else { return }
        service.stressExpiry = now + 1000
        replaceChannel(service)
        loop.cancel(service.wakeupTimer)
        service.wakeupTimer = nil
        startWakeups(service)
    }

    // MARK: throttling

    private func throttle(_ service: Service) {
        guard !service.throttled else { return }
        service.throttled = true
        stateChanged()
        setListening(service, false)
        // unowned throughout: a weak reference would give Master and Service
        // side tables and slow every retain/release; removal cancels timers.
        service.throttleTimer = loop.after(Double(service.throttleDelay)) { [unowned self, unowned service] in
            service.throttled = false
            service.throttleTimer = nil
            self.updateListening(service)
        }
    }

    // MARK: status reports

    private func watchStatus(_ service: Service) {
        let channel = service.channel
        loop.watchReadable(channel.masterFD) { [unowned self, unowned service] _ in
            self.readStatus(service, channel)
        }
    }

    private func readStatus(_ service: Service, _ channel: StatusChannel) {
        switch channel.readUpdates({ apply($0) }) {
        case .empty:
            return
        case .failed(let text):
            MasterLog.warning("master_status_event: read: \(text)")
        case .updates(let fragment):
            if fragment > 0 {
                MasterLog.warning("service \(service.label): child sent partial status update (\(fragment) bytes)")
            }
        }
    }

    private func apply(_ update: StatusUpdate) {
        guard let child = children[update.pid] else { return }
        guard child.generation == update.generation else {
            MasterLog.info("ignoring status update from child pid \(update.pid) generation \(update.generation)")
            return
        }
        let service = child.service
        switch update.status {
        case StatusUpdate.available where !child.available:
            child.available = true
            child.useCount += 1
            service.availableProcesses += 1
        case StatusUpdate.taken where child.available:
            child.available = false
            service.availableProcesses -= 1
        case StatusUpdate.available, StatusUpdate.taken:
            return
        default:
            MasterLog.warning("master_status_event: ignoring unknown status: \(update.status) allegedly from pid: \(update.pid)")
            return
        }
        if !service.removed { updateListening(service) }
    }

    // MARK: child exit

    func reapChildren() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            guard let child = children.remove(pid) else {
                otherChildReaped(pid)
                continue
            }
            childExited(child, status: ExitStatus(status))
        }
    }

    private func childExited(_ child: ChildProcess, status: ExitStatus) {
        let service = child.service
        service.totalProcesses -= 1
        if child.available { service.availableProcesses -= 1 }
        service.counters.exited(status, killedByMaster: child.killedByMaster)
        if !child.killedByMaster, let text = status.warning {
            MasterLog.warning("process \(service.path) pid \(child.pid) \(text)")
        }
        if status.isFailure && child.useCount == 0 && !service.throttled && !service.removed {
            MasterLog.warning("\(service.path): bad command startup -- throttling")
            throttle(service)
        }
        if !service.removed { updateListening(service) }
    }

    // MARK: wakeups

    /// An immediate wakeup, then one every wakeup_time seconds.
    private func startWakeups(_ service: Service) {
        guard service.entry.wakeupTime > 0, !service.wakeupDeferred, !service.removed else { return }
        wakeupTick(service)
    }

    private func wakeupTick(_ service: Service) {
        if !service.throttled, let failure = wakeups.send(to: service.entry, owner: settings.mailOwner) {
            MasterLog.warning("master_wakeup_timer_event: service \(service.label): \(failure)")
        }
        service.nextWakeup = EventLoop.now() + Double(service.entry.wakeupTime)
        service.wakeupTimer = loop.after(Double(service.entry.wakeupTime)) { [unowned self, unowned service] in
            self.wakeupTick(service)
        }
    }

    // MARK: status report

    /// One `key=value` line for the master, then one per service (see ControlSocket).
    func statusReport(configDirectory: String) -> String {
        var lines = ["master pid=\(getpid()) version=\(settings.version) config=\(configDirectory) generation=\(generation)"]
        let now = EventLoop.now()
        for key in serviceOrder {
            guard let service = services[key] else { continue }
            let wakeup = service.nextWakeup.map { String(max(0, Int(($0 - now).rounded(.up)))) } ?? "-"
            let fields = [
                "name=" + service.entry.name, "type=" + service.entry.type.rawValue,
                "canonical=" + service.entry.canonicalName,
                "program=" + (service.program.isPlugin ? "plugin" : "executable"), "path=" + service.path,
                "limit=\(service.entry.processLimit)", "total=\(service.totalProcesses)",
                "busy=\(service.totalProcesses - service.availableProcesses)",
                "throttled=" + (service.throttled ? "yes" : "no"), "wakeup=" + wakeup,
            ] + service.counters.reportFields
            lines.append("service " + fields.map { $0.replacingSpaces() }.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Counts for a one-line summary (systemd's STATUS=): services,
    /// processes, busy processes, and the labels of throttled services.
    func summary() -> MasterSummary {
        var result = MasterSummary(services: serviceOrder.count)
        for key in serviceOrder {
            guard let service = services[key] else { continue }
            result.processes += service.totalProcesses
            result.busy += service.totalProcesses - service.availableProcesses
            if service.throttled { result.throttled.append(service.label) }
        }
        return result
    }

    // MARK: reload and termination

    /// Replaces the running configuration with an already validated one.
    func apply(_ configuration: Configuration) {
        inetServices = configuration.services.inetServicesByName
        settings = configuration.settings
        main = configuration.main
        childEnvironment = MasterEnvironment.current()
        var seen = Set<String>()
        for entry in configuration.services.entries {
            seen.insert(entry.key)
            let program = program(for: entry, in: configuration)
            if let service = services[entry.key] {
                restartService(service, with: entry, program: program)
            } else if let failure = startService(entry, program: program) {
                MasterLog.error("\(configuration.services.path): line \(entry.line): service \(entry.name): \(failure) -- service not started")
            }
        }
        for key in serviceOrder where !seen.contains(key) {
            if let service = services[key] { removeService(service) }
        }
    }

    /// Ends every child process: the process group when we lead it,
    /// otherwise each known child.
    func terminateChildren() {
        if getpgrp() == getpid() {
            kill(-getpid(), SIGTERM)
        } else {
            for child in children.all { kill(child.pid, SIGTERM) }
        }
    }
}

private extension String {
    /// Report values must not contain the field separator.
    func replacingSpaces() -> String {
        String(map { $0 == " " || $0 == "\n" ? "_" : $0 })
    }
}

struct MasterSummary: Equatable {
    var services: Int
    var processes = 0
    var busy = 0
    var throttled: [String] = []

    /// E.g. "14 services, 3 processes (1 busy), throttled: smtp(private/smtp)".
    var text: String {
        "\(services) services, \(processes) processes (\(busy) busy), throttled: "
            + (throttled.isEmpty ? "none" : throttled.joined(separator: " "))
    }
}

/// A decoded waitpid() status.
struct ExitStatus {
    let raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    var isFailure: Bool { !(cs_wifexited(raw) != 0 && cs_wexitstatus(raw) == 0) }

    /// The stock warning suffix, or nil for a clean exit.
    var warning: String? {
        if cs_wifexited(raw) != 0 {
            let code = cs_wexitstatus(raw)
            return code == 0 ? nil : "exit status \(code)"
        }
        if cs_wifsignaled(raw) != 0 { return "killed by signal \(cs_wtermsig(raw))" }
        return nil
    }
}
