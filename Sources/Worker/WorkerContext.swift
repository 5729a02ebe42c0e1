// WorkerContext.swift - the state of one plugin worker process.
//
// Keeps the status protocol exactly as Postfix daemons do: nothing at
// start-up, TAKEN (0) before a client or request is served, AVAIL (1) after,
// each as one 12-byte write to descriptor 5; a failed AVAIL write means the
// master is gone or has retired us, so the process exits. EOF on descriptor
// 5 retires the worker as soon as no client is being served; max_idle and
// max_use end it as they end Postfix daemons.

import Glibc
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
    let maxIdle: Int
    let maxUse: Int
    let daemonTimeout: UInt32

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
        daemonTimeout = limits.daemonTimeout
    }

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
        while true { loop.runOnce() }
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
        let record = StatusUpdate(pid: getpid(), generation: spec.generation, status: status).bytes
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

    /// A watchdog around plugin code, like Postfix's daemon_timeout.
    func withWatchdog<R>(_ body: () -> R) -> R {
        alarm(daemonTimeout)
        defer { alarm(0) }
        return body()
    }
}
