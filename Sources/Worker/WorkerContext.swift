// WorkerContext.swift - the state of one plugin worker process.
//
// Keeps the status protocol exactly as Postfix daemons do: nothing at
// start-up, TAKEN (0) before a client or request is served, AVAIL (1) after,
// each as one 12-byte write to descriptor 5; a failed AVAIL write means the
// master is gone or has retired us, so the process exits. EOF on descriptor
// 5 retires the worker as soon as no client is being served; max_idle and
// max_use end it as they end Postfix daemons, unless the plugin declared
// itself long-lived (then neither applies, as in qmgr(8) after start-up).
// Plugin callbacks run under a watchdog that ends a stuck worker with
// stock's "fatal: watchdog timeout": as stock's skeletons pat theirs once
// per loop iteration, it is armed once each time the loop wakes and covers
// everything that iteration runs (handlers, timers, the loop hook); the
// wait itself is kept shorter than what is left of it, so an idle worker is
// never ended.

import Glibc
import CSystem
import MailhostPluginABI
import PostfixConfig

final class WorkerContext {
    static var shared: WorkerContext?
    static let statusFD: Int32 = 5

    let spec: PluginWorkerSpec
    let config: MainConfig
    let arguments: [String]
    let callbacks: PluginCallbacks
    let model: UInt32
    let listenFDs: [Int32]
    let loop = EventLoop()
    var state: UnsafeMutableRawPointer?
    let clients = ClientRegistry()
    var useCount = 0
    var retiring = false
    /// Set once an orderly exit has begun: PRE_EXIT runs at most once, even
    /// when it calls the host's exit itself.
    private var exiting = false
    private var idleTimer: EventLoop.TimerID?
    private(set) var maxIdle: Int
    private(set) var maxUse: Int
    /// Seconds a plugin callback may run: stock's skeletons use
    /// daemon_timeout in the single and multi models and 1000 seconds in the
    /// trigger and event models; MH_HOST_SET_WATCHDOG replaces it.
    var watchdogSeconds: UInt32
    private(set) lazy var events = PluginEvents(worker: self)

    /// Handles passed to plugin code; the host handle carries no data.
    let hostHandle = OpaquePointer(bitPattern: 0x1)

    init(spec: PluginWorkerSpec, config: MainConfig, arguments: [String],
         descriptor: UnsafePointer<mh_plugin_descriptor>, listeners: Int) {
        self.spec = spec
        self.config = config
        self.arguments = arguments
        self.callbacks = PluginCallbacks(descriptor)
        self.model = descriptor.pointee.server_model
        self.listenFDs = (0..<listeners).map { Spawner.firstListenFD + Int32($0) }
        let limits = WorkerLimits.read(config)
        maxIdle = limits.maxIdle
        maxUse = limits.maxUse
        watchdogSeconds = PluginABI.offersEvents(model: model) ? WorkerContext.eventWatchdogSeconds : limits.daemonTimeout
    }

    /// The watchdog time of stock's trigger and event skeletons.
    static let eventWatchdogSeconds: UInt32 = 1000

    /// Descriptors the host itself watches or needs: a plugin may not watch
    /// or unwatch them, or the worker would stop hearing its master or its
    /// listeners.
    func isHostDescriptor(_ fd: Int32) -> Bool {
        fd == WorkerContext.statusFD || listenFDs.contains(fd)
    }

    // MARK: life cycle

    func callInit(_ id: UInt32, required: Bool) {
        guard let function = callbacks.initFunction(id) else {
            if required { MasterLog.fatal(PluginMessages.missingCallback("MH_PLUGIN_INIT", model: PluginABI.modelName(model))) }
            return
        }
        let status = HostFunctions.table.withUnsafeBufferPointer { table in
            function(hostHandle, table.baseAddress, &state)
        }
        if status < 0 { MasterLog.fatal("\(spec.entry.command): plugin initialization failed (status \(status))") }
    }

    func runSkeleton() -> Never {
        for fd in listenFDs { setDescriptorFlags(fd, closeOnExec: true, nonBlocking: true) }
        loop.watchReadable(WorkerContext.statusFD) { [weak self] _ in self?.masterDisconnected() }
        Skeletons.start(self)
        armIdleTimer()
        cs_watchdog_install(WorkerContext.watchdogTimeout)
        loop.onWake = { [unowned self] in self.armWatchdog() }
        armWatchdog()
        while true { loop.runOnce(maxWait: waitWithinWatchdog(events.runLoopHook())) }
    }

    /// MH_DECLARE_SOLITARY: stock's check of a solitary service's process
    /// limit, with its fatal text (naming the command, as stock names its
    /// program).
    func requireSolitary() {
        if spec.entry.processLimit != 1 {
            MasterLog.fatal("service \(spec.entry.command) requires a process limit of 1")
        }
    }

    /// MH_DECLARE_LONG_LIVED: max_idle and max_use no longer apply.
    func becomeLongLived() {
        maxIdle = 0
        maxUse = 0
        cancelIdleTimer()
    }

    func orderlyExit(_ status: Int32 = 0) -> Never {
        if !exiting {
            exiting = true
            if let preExit = callbacks.preExit { preExit(hostHandle, state) }
        }
        exit(status)
    }

    // MARK: status protocol

    func reportBusy() {
        cancelIdleTimer()
        _ = writeStatus(StatusUpdate.taken)
    }

    /// After a client or request: AVAIL, then the exit rules.
    func reportIdle() {
        if !writeStatus(StatusUpdate.available) { orderlyExit() }
        if clients.count == 0 {
            if retiring || (maxUse > 0 && useCount >= maxUse) { orderlyExit() }
            armIdleTimer()
        }
    }

    private func writeStatus(_ status: Int32) -> Bool {
        let record = StatusUpdate(pid: MasterLog.processID, generation: spec.generation, status: status).bytes
        return write(WorkerContext.statusFD, record, record.count) == record.count
    }

    /// EOF on descriptor 5: reload, removal or master exit. As Postfix's
    /// skeletons: a multi-model worker exits at once (its clients reconnect
    /// to a new one, which runs the new configuration); an event-model
    /// worker stops accepting and exits when its last client is done.
    private func masterDisconnected() {
        loop.unwatch(WorkerContext.statusFD)
        retiring = true
        for fd in listenFDs { loop.unwatch(fd) }
        if clients.count == 0 || model == UInt32(MH_MODEL_MULTI.rawValue) { orderlyExit() }
    }

    private func armIdleTimer() {
        cancelIdleTimer()
        guard maxIdle > 0 else { return }
        idleTimer = loop.after(Double(maxIdle)) { [weak self] in self?.orderlyExit() }
    }

    private func cancelIdleTimer() {
        loop.cancel(idleTimer)
        idleTimer = nil
    }

    /// When the watchdog was last armed (monotonic seconds).
    private var watchdogArmedAt = 0.0

    /// One alarm(2) per loop iteration, like Postfix's watchdog_start:
    /// SIGALRM after watchdogSeconds ends the worker (see watchdogTimeout).
    /// Re-arming replaces the pending alarm, so no disarm is needed.
    private func armWatchdog() {
        alarm(watchdogSeconds)
        watchdogArmedAt = EventLoop.now()
    }

    /// `wait` (milliseconds, -1 for none) cut so that the loop wakes, and
    /// re-arms, at least a second before the armed watchdog would fire: the
    /// watchdog bounds plugin code, never a worker waiting for work.
    private func waitWithinWatchdog(_ wait: Int32) -> Int32 {
        let left = (watchdogArmedAt + Double(watchdogSeconds) - 1 - EventLoop.now()) * 1000
        let cap = Int32(max(0, min(left.rounded(.down), Double(Int32.max))))
        return wait < 0 ? cap : min(wait, cap)
    }

    /// Runs in the SIGALRM handler (CSystem's cs_watchdog_install), which
    /// then ends the process with status 1; stock's text.
    private static let watchdogTimeout: @convention(c) () -> Void = {
        MasterLog.emit(.fatal, "watchdog timeout")
        sleep(1)
    }
}
