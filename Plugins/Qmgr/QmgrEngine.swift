// QmgrEngine.swift - the queue manager's work between wakeups, run from the
// host's loop hook once per event-loop iteration (as stock's qmgr_loop):
// expire the scheduler's timed avoidances, end conversations (agents and
// status services) whose deadline passed, open the agent connections the scheduler wants, act on its events
// (message completion, synchronous deferrals, log lines), then take one
// more message in from the scans and balance the inflow tokens. The hook's
// answer is how long the host may wait: not at all while a scan has names
// left, else until the earliest scheduler wakeup or conversation deadline.
// Guarantees: scheduler events are handled in the order produced, until
// none is left, before the host waits; nothing here blocks on an agent.
import MailQueue
import PluginAPI
import QmgrCore
import QmgrQueue

final class QmgrEngine {
    let host: ServiceHost
    let scheduler: Scheduler
    let intake: MessageIntake
    let connections: AgentConnections
    let completion: Completion
    let inflow: InflowControl

    init(host: ServiceHost, config: Configuration, store: QueueStore, loader: MessageLoader, scheduler: Scheduler) {
        self.host = host
        inflow = config.inflow
        self.scheduler = scheduler
        let messages = ActiveMessages(smtputf8Enabled: config.smtputf8Enabled)
        intake = MessageIntake(host: host, store: store, loader: loader, scheduler: scheduler, messages: messages,
                               log: config.logLines)
        connections = AgentConnections(host: host, scheduler: scheduler, messages: messages, intake: intake,
                                       queueDirectory: config.queueDirectory, timeouts: config.exchangeTimeouts)
        completion = Completion(host: host, config: config, store: store, scheduler: scheduler, messages: messages,
                                intake: intake)
    }

    /// The loop hook: returns the longest wait in milliseconds (-1: no limit).
    func iterate() -> Int64 {
        var now = Clock.now()
        scheduler.tick(now: now)
        connections.checkTimes(now: now)
        completion.checkTimes(now: now)
        settle(now: now)
        let step = intake.feedOne(now: now)
        now = Clock.now()
        settle(now: now)
        inflow.balance(fedFromIncoming: step.fedFromIncoming, incomingIdle: !intake.incoming.isRunning)
        if step.sawName { return 0 }
        var next = scheduler.nextWakeup()
        if let time = connections.nextTime() { next = min(next ?? time, time) }
        if let time = completion.nextTime() { next = min(next ?? time, time) }
        guard let next else { return -1 }
        return max(1, Int64(((next - now) * 1000).rounded(.up)))
    }

    /// Handles the scheduler's events and opens connections until neither
    /// produces more work.
    private func settle(now: Double) {
        while true {
            connections.openWanted(now: now)
            let events = scheduler.takeEvents()
            if events.isEmpty { return }
            for event in events { handle(event, now: now) }
        }
    }

    private func handle(_ event: SchedulerEvent, now: Double) {
        switch event {
        case .messageIdle(let queueID, let deferred, _):
            completion.messageIdle(queueID: queueID, deferred: deferred, now: now)
        case .deferRecipients(let queueID, let recipients, let status):
            completion.deferRecipients(queueID: queueID, recipients: recipients, status: status)
        case .log(.info(let text)):
            host.info(text)
        case .log(.warning(let text)):
            host.warning(text)
        }
    }

    /// A wakeup's bytes: scan requests, and F's second chance for dead sites.
    func trigger(_ bytes: [UInt8]) {
        let request = TriggerRequest(bytes)
        let flushOnce = intake.fatalOnStoreError { () throws(QueueStoreError) -> Bool in
            let a = try intake.incoming.request(request.incoming)
            let b = try intake.deferred.request(request.deferred)
            return a || b
        }
        if flushOnce { scheduler.enableAll(now: Clock.now()) }
    }

    /// Asks for a deferred scan every queue_run_delay, from now on.
    func runDeferredScans(every seconds: Int) {
        _ = intake.fatalOnStoreError { () throws(QueueStoreError) in try intake.deferred.request([.start]) }
        do {
            try host.startTimer(milliseconds: Int64(seconds) * 1000) { [weak self] in
                self?.runDeferredScans(every: seconds)
            }
        } catch {
            host.fatal("cannot start the deferred queue timer: \(error)")
        }
    }
}
