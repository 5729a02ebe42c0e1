// MessageIntake.swift - how mail enters the active queue: the incoming and
// deferred scans take turns (stock's fairness: after a message from one,
// the other goes first; when the active queue is full, incoming goes first
// next time), one file per call, while the scheduler's leaky bucket
// (`admissionLimit`) allows; a file moved to active is loaded and its first
// batch handed to the scheduler. The loader's other outcomes are handled as
// stock handles them: locked (still being delivered) back to incoming a
// minute ahead, damaged to corrupt with stock's warning, vanished logged.
// Also the refill of a message with more recipients (`readMore`).
// Guarantees: a file is in the scheduler only after its ActiveMessage is
// recorded; a file that cannot be loaded never stays in active.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI
import QmgrCore
import QmgrDelivery
import QmgrQueue

final class MessageIntake {
    let host: ServiceHost
    let store: QueueStore
    let loader: MessageLoader
    let scheduler: Scheduler
    let messages: ActiveMessages
    let incoming: QueueScan
    let deferred: QueueScan
    /// [incoming, deferred], in the order of `firstScan`.
    private let scans: [QueueScan]
    private let log: QmgrLogLines
    /// Which scan goes first next time (0: incoming, 1: deferred).
    private var firstScan = 0

    init(host: ServiceHost, store: QueueStore, loader: MessageLoader, scheduler: Scheduler,
         messages: ActiveMessages, log: QmgrLogLines) {
        self.host = host
        self.store = store
        self.loader = loader
        self.scheduler = scheduler
        self.messages = messages
        self.log = log
        incoming = QueueScan(queue: .incoming, store: store)
        deferred = QueueScan(queue: .deferred, store: store, index: DeferredIndex())
        scans = [incoming, deferred]
    }

    /// What one call of `feedOne` did.
    struct Step {
        /// A scan returned a name: there may be more, run again without waiting.
        var sawName = false
        /// A file was taken from incoming into active (a flow token is due).
        var fedFromIncoming = false
    }

    /// Feeds at most one file from the scans.
    func feedOne(now: Double) -> Step {
        var step = Step()
        var last = firstScan
        for turn in 0..<scans.count {
            guard let limit = scheduler.admissionLimit() else { break }
            last = (firstScan + turn) % scans.count
            guard let id = fatalOnStoreError({ () throws(QueueStoreError) in try scans[last].next() }) else { continue }
            step.sawName = true
            if feed(id, from: scans[last], recipientLimit: limit, now: now) {
                step.fedFromIncoming = scans[last] === incoming
                break
            }
        }
        firstScan = scheduler.admissionLimit() != nil ? (last + 1) % scans.count : 0
        return step
    }

    /// True when the file went into active (loaded or not).
    private func feed(_ id: QueueID, from scan: QueueScan, recipientLimit: Int, now: Double) -> Bool {
        let result = fatalOnStoreError { () throws(QueueStoreError) in try scan.feed(id) }
        if let warning = result.warning { host.warning(warning) }
        guard case .moved(let candidate) = result.disposition else { return false }
        load(candidate, recipientLimit: recipientLimit, now: now)
        return true
    }

    private func load(_ candidate: ActiveCandidate, recipientLimit: Int, now: Double) {
        let outcome = fatalOnStoreError { () throws(QueueStoreError) in
            try loader.load(candidate, recipientLimit: recipientLimit, pendingProbes: messages.probes)
        }
        switch outcome {
        case .loaded(let loaded, let routed):
            host.info(loaded.openedLogLine)
            let message = ActiveMessage(loaded)
            messages.add(message)
            let batch = accept(routed, of: message)
            do {
                try scheduler.add(queueID: loaded.id.text, options: message.options, batch: batch, now: now)
            } catch {
                host.fatal(error.description)
            }
        case .locked(let line):
            host.info(line)
            moveBack(candidate.id)
        case .vanished(let warning):
            host.warning(warning)
        case .corrupt(let error, let opened):
            if let opened { host.info(opened) }
            host.warning("\(candidate.id): \(error)")
            saveCorrupt(candidate.id)
        case .resolverFailed(let error):
            // Stock waits for trivial-rewrite inside the load; we put the file
            // back (retried a minute later) rather than block the event loop.
            host.warning("\(candidate.id): address resolver failure: \(error)")
            moveBack(candidate.id)
        }
    }

    /// The next batch of a message with unread recipients (the scheduler's
    /// RecipientReader, and completion's `loadNextBatch`).
    func readMore(queueID: String, limit: Int) -> RecipientBatch {
        guard let message = messages[queueID] else { return RecipientBatch(assignments: []) }
        let outcome = fatalOnStoreError { () throws(QueueStoreError) in
            try loader.refill(&message.loaded, recipientLimit: limit, pendingProbes: messages.probes)
        }
        switch outcome {
        case .loaded(let routed):
            return accept(routed, of: message)
        case .vanished(let warning):
            host.warning(warning)
            message.refillProblem = .vanished
        case .corrupt(let error):
            host.warning("\(queueID): \(error)")
            message.refillProblem = .corrupt
        case .resolverFailed(let error):
            host.warning("\(queueID): address resolver failure: \(error)")
            message.refillProblem = .resolverFailed
        }
        return RecipientBatch(assignments: [])
    }

    /// Logs the batch's warnings, finishes double-bounce recipients (logged
    /// as sent, marked done), and converts the rest for the scheduler.
    private func accept(_ routed: RoutedBatch, of message: ActiveMessage) -> RecipientBatch {
        let id = message.loaded.id.text
        for warning in routed.warnings { host.warning("\(id): \(warning)") }
        if !routed.discarded.isEmpty { discardDoubleBounces(routed.discarded, of: message) }
        return message.batch(routed)
    }

    private func discardDoubleBounces(_ recipients: [QueuedRecipient], of message: ActiveMessage) {
        let id = message.loaded.id
        let dsn = DSN(status: RoutedBatch.discardedDSN.status, action: "delivered", reason: RoutedBatch.discardedDSN.reason)
        let path = store.path(of: id, in: .active)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        for recipient in recipients {
            host.info(log.recipient(id.text, stats: message.stats, recipient: recipient, relay: "none", dsn: dsn,
                                    status: "sent", now: Self.wallClock()))
            guard fd >= 0 else { continue }
            do {
                try QueueFileEditor(descriptor: fd, name: message.loaded.path).markDone(recipientAt: recipient.offset)
            } catch {
                host.fatal("update queue file \(message.loaded.path): \(error)")
            }
        }
    }

    /// Back to incoming with its times a minute ahead (stock's treatment of
    /// a file still being delivered by an agent of a previous qmgr).
    private func moveBack(_ id: QueueID) {
        _ = fatalOnStoreError { () throws(QueueStoreError) -> Bool in
            try store.setTimes(id, in: .active, to: Int(time(nil)) + 60)
            return try store.rename(id, from: .active, to: .incoming)
        }
    }

    func saveCorrupt(_ id: QueueID) {
        host.warning("saving corrupt file \"\(id)\" from queue \"\(QueueName.active)\" to queue \"\(QueueName.corrupt)\"")
        _ = fatalOnStoreError { () throws(QueueStoreError) in try store.rename(id, from: .active, to: .corrupt) }
    }

    /// Stock ends the process on these system errors.
    func fatalOnStoreError<T>(_ body: () throws(QueueStoreError) -> T) -> T {
        do {
            return try body()
        } catch {
            host.fatal(error.description)
        }
    }

    static func wallClock() -> MessageStats.Time {
        var tv = timeval()
        gettimeofday(&tv, nil)
        return MessageStats.Time(seconds: Int(tv.tv_sec), microseconds: Int(tv.tv_usec))
    }
}
