// Service.swift - the run-time state of one master.cf service.
//
// A Service owns its listen descriptors (kept across reloads), its current
// status channel (replaced on every restart), and the process counters the
// spawn policy needs. Its children live in the master's child table and
// point back here; a child of a replaced channel still counts until reaped.

import Glibc
import PostfixConfig

final class Service {
    var entry: MasterEntry {
        didSet { refreshDerived() }
    }
    var program: ServiceProgram
    var path: String { program.path }
    var throttleDelay: Int
    let listenFDs: [Int32]
    var channel: StatusChannel

    var totalProcesses = 0
    var availableProcesses = 0
    var listening = false
    var throttled = false
    var throttleTimer: EventLoop.TimerID?
    var wakeupTimer: EventLoop.TimerID?
    /// Monotonic time of the next wakeup, for status reports.
    var nextWakeup: Double?
    /// A conditional ("N?") wakeup waits for the first spawn.
    var wakeupDeferred: Bool
    var stressExpiry: Double = 0
    var busyWarningTime: Double = -.infinity
    var removed = false
    /// Spawns and abnormal exits, for the status report (MetricsReport.swift).
    var counters = ServiceCounters()

    init(entry: MasterEntry, program: ServiceProgram, throttleDelay: Int,
         listenFDs: [Int32], channel: StatusChannel) {
        self.entry = entry
        self.program = program
        self.throttleDelay = throttleDelay
        self.listenFDs = listenFDs
        self.channel = channel
        self.wakeupDeferred = entry.wakeupConditional
        refreshDerived()
    }

    /// `name(canonical)`, the form master log messages use.
    var label: String { "\(entry.name)(\(entry.canonicalName))" }

    var belowProcessLimit: Bool {
        processLimit == 0 || totalProcesses < processLimit
    }

    /// The listening rule: watch for clients only when nobody else will
    /// pick them up and another process may be started.
    var shouldListen: Bool {
        !removed && !throttled && availableProcesses == 0 && belowProcessLimit
    }

    /// Values the spawn policy reads on every status update, kept out of
    /// `entry` so the hot path never copies the whole master.cf entry.
    private(set) var stressEligible = false
    private(set) var processLimit = 0
    /// Created once: re-arming a listener must not allocate a closure.
    var listenHandler: EventLoop.ReadyHandler?

    private func refreshDerived() {
        stressEligible = ChildArguments.isStressEligible(entry)
        processLimit = entry.processLimit
    }
}

final class ChildProcess {
    let pid: pid_t
    let service: Service
    let generation: UInt32
    var available = true
    var useCount = 0
    var killedByMaster = false

    init(pid: pid_t, service: Service, generation: UInt32) {
        self.pid = pid
        self.service = service
        self.generation = generation
    }
}
