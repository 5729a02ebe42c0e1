// Completion.swift - what happens to a message when the scheduler says all
// its in-memory deliveries are over (`.messageIdle`), and to recipients the
// scheduler cannot even hand to `retry` (`.deferRecipients`: each is
// deferred as defer_append does, ending with flush(8)'s `add` for its domain).
// A message is completed with QmgrDelivery's MessageCompletion, whose
// decision is carried out on the queue here: remove (and log `removed`),
// defer until the backoff time (with the opt-in retry jitter; the deferred
// scan's index is told that time, so its next pass needs no stat), save to
// corrupt, or read the next batch of recipients.
// The bounce/defer/trace requests are event-driven, as stock's asynchronous
// bounce client: each is a StatusRequestChannel watched by the host
// (ConversationWatch), its deadline checked from the loop hook
// (`checkTimes`, `nextTime`), and the completion resumes when it settles,
// so the loop goes on serving agents and wakeups meanwhile.
// (`deferRecipients` stays synchronous, as stock's qmgr_defer_recipient.)
// Guarantees: the scheduler and ActiveMessages forget a message together,
// after its file has left active (or was found gone); a message whose
// refill failed is never asked to read more again in that round; at most
// one completion runs per message, and its decision is performed once, after
// its last request has settled (a failed request counts as status -1, as
// stock's callback sees it).
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI
import QmgrCore
import QmgrDelivery
import QmgrQueue

/// One message's completion while it waits for a status service.
final class RunningCompletion {
    let completion: MessageCompletion
    let message: ActiveMessage
    var channel: StatusRequestChannel?
    let watch: ConversationWatch

    init(_ completion: MessageCompletion, _ message: ActiveMessage, host: ServiceHost) {
        self.completion = completion
        self.message = message
        watch = ConversationWatch(host: host)
    }
}

final class Completion {
    private let host: ServiceHost
    private let config: Configuration
    private let store: QueueStore
    private let scheduler: Scheduler
    private let messages: ActiveMessages
    private let intake: MessageIntake
    private var running: [String: RunningCompletion] = [:]

    init(host: ServiceHost, config: Configuration, store: QueueStore, scheduler: Scheduler,
         messages: ActiveMessages, intake: MessageIntake) {
        self.host = host
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.messages = messages
        self.intake = intake
    }

    /// `.messageIdle`: complete this round of the message.
    func messageIdle(queueID: String, deferred: Bool, now: Double) {
        guard let message = messages[queueID] else {
            scheduler.removeMessage(queueID: queueID)
            return
        }
        switch message.refillProblem {
        case .vanished?: return forget(queueID)
        case .corrupt?:
            intake.saveCorrupt(message.loaded.id)
            return forget(queueID)
        case .resolverFailed?, nil: break
        }
        guard running[queueID] == nil else { return }
        let completion = MessageCompletion(message.completed(deferred: deferred), policy: config.completionPolicy,
                                           services: config.services, hashing: config.hashing, log: config.logLines,
                                           now: Int(time(nil)))
        let run = RunningCompletion(completion, message, host: host)
        running[queueID] = run
        advance(run, now: now)
    }

    /// Takes the completion as far as it goes without waiting: through
    /// every settled request, to the next unsettled one or the decision.
    private func advance(_ run: RunningCompletion, now: Double) {
        while true {
            if let channel = run.channel {
                guard channel.isSettled else {
                    run.watch.update(channel, peer: channel.exchange.peer) {
                        { [weak self, weak run] events in
                            guard let self, let run else { return }
                            let now = Clock.now()
                            run.channel?.handle(events, now: now)
                            self.advance(run, now: now)
                        }
                    }
                    return
                }
                run.watch.clear()
                run.channel = nil
                run.completion.resume(status: channel.status ?? -1)
            }
            switch run.completion.next() {
            case .request(let request, let service):
                run.channel = StatusRequestChannel(request, service: service, services: run.completion.services,
                                                   now: now, watchdog: Double(config.settings.daemonTimeout))
            case .finished(let decision):
                running[run.message.loaded.id.text] = nil
                for line in run.completion.info { host.info(line) }
                for warning in run.completion.warnings { host.warning(warning) }
                return perform(decision, run.message, now: now)
            }
        }
    }

    /// Ends the requests whose deadline has passed (from the loop hook).
    func checkTimes(now: Double) {
        var due: [RunningCompletion] = []
        for run in running.values where (run.channel?.deadline ?? .infinity) <= now { due.append(run) }
        for run in due {
            run.channel?.checkDeadline(now: now)
            advance(run, now: now)
        }
    }

    /// The earliest request deadline; nil: none pending.
    func nextTime() -> Double? {
        var earliest: Double?
        for run in running.values {
            if let deadline = run.channel?.deadline, deadline < earliest ?? .infinity { earliest = deadline }
        }
        return earliest
    }

    private func perform(_ decision: CompletionDecision, _ message: ActiveMessage, now: Double) {
        let id = message.loaded.id
        switch decision {
        case .remove:
            if !intake.fatalOnStoreError({ () throws(QueueStoreError) in try store.remove(id, from: .active) }) {
                host.warning("\(id): remove \(message.loaded.path): \(SystemError.text(ENOENT))")
            }
            host.info(QmgrLogLines.removed(id.text))
            forget(id.text)
        case .deferUntil(let until):
            let wall = Int(time(nil))
            let delay = RetryJitter.apply(to: max(0, until - wall), settings: config.settings,
                                          random: Double.random(in: 0...1))
            let moved = intake.fatalOnStoreError { () throws(QueueStoreError) -> Bool in
                try store.setTimes(id, in: .active, to: wall + delay)
                return try store.rename(id, from: .active, to: .deferred)
            }
            if moved { intake.deferred.learnDeferred(id, due: wall + delay) }
            forget(id.text)
        case .moveToCorrupt:
            intake.saveCorrupt(id)
            forget(id.text)
        case .loadNextBatch(let deferred):
            if deferred { message.deferredHere = true }
            let batch = intake.readMore(queueID: id.text, limit: scheduler.readLimit(queueID: id.text))
            do {
                try scheduler.continueMessage(queueID: id.text, batch: batch, now: now)
            } catch {
                host.fatal(error.description)
            }
        case .fatal(let text):
            host.fatal(text)
        }
    }

    private func forget(_ queueID: String) {
        scheduler.removeMessage(queueID: queueID)
        messages.remove(queueID)
    }

    /// `.deferRecipients`: the `retry` transport is dead too; defer each
    /// recipient through the defer service (stock's qmgr_defer_recipient).
    func deferRecipients(queueID: String, recipients: [QueuedRecipient], status: SiteStatus) {
        guard let message = messages[queueID] else { return }
        let deferral = RecipientDeferral(services: config.services, log: config.logLines,
                                         verifyNegativeCache: config.verifyNegativeCache)
        for recipient in recipients {
            let result = deferral.deferRecipient(queueID: queueID, traceFlags: message.loaded.traceFlags,
                                                 stats: message.stats, recipient: recipient,
                                                 dsn: DSN(status: status.status, reason: status.reason),
                                                 now: MessageIntake.wallClock())
            for line in result.info { host.info(line) }
            for warning in result.warnings { host.warning(warning) }
            if let site = result.fastFlushSite { offerToFastFlush(site: site, queueID: queueID) }
            if result.status != 0 { message.deferredHere = true }
        }
    }

    /// defer_append's last step: tell flush(8) about the recipient's domain
    /// (only OK and DENY are quiet, as stock).
    private func offerToFastFlush(site: ByteString, queueID: String) {
        switch config.flush.add(site: site, queueID: queueID) {
        case .ok, .deny: break
        case .fail, .bad: host.warning("\(queueID): \(config.flush.service) service failure")
        }
    }
}
