// Completion.swift - what happens to a message when the scheduler says all
// its in-memory deliveries are over (`.messageIdle`), and to recipients the
// scheduler cannot even hand to `retry` (`.deferRecipients`: each is
// deferred as defer_append does, ending with flush(8)'s `add` for its domain).
// A message is completed with QmgrDelivery's MessageCompletion, whose
// decision is carried out on the queue here: remove (and log `removed`),
// defer until the backoff time (with the opt-in retry jitter), save to
// corrupt, or read the next batch of recipients.
// The bounce/defer/trace requests are made with the blocking
// CompletionRunner: each is bounded by ipc_timeout and the watchdog, and
// these local services answer in milliseconds; agent conversations, the
// slow part, never block (AgentConnections). Making these requests
// event-driven (StatusRequestChannel) is a known follow-up.
// Guarantees: the scheduler and ActiveMessages forget a message together,
// after its file has left active (or was found gone); a message whose
// refill failed is never asked to read more again in that round.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI
import QmgrCore
import QmgrDelivery
import QmgrQueue

final class Completion {
    private let host: ServiceHost
    private let config: Configuration
    private let store: QueueStore
    private let scheduler: Scheduler
    private let messages: ActiveMessages
    private let intake: MessageIntake

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
        let completion = MessageCompletion(message.completed(deferred: deferred), policy: config.completionPolicy,
                                           services: config.services, hashing: config.hashing, log: config.logLines,
                                           now: Int(time(nil)))
        let result = CompletionRunner.run(completion, watchdog: Double(config.settings.daemonTimeout))
        for line in result.info { host.info(line) }
        for warning in result.warnings { host.warning(warning) }
        perform(result.decision, message, now: now)
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
            _ = intake.fatalOnStoreError { () throws(QueueStoreError) -> Bool in
                try store.setTimes(id, in: .active, to: wall + delay)
                return try store.rename(id, from: .active, to: .deferred)
            }
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
