// Transport: the in-memory state of one delivery transport (a master.cf
// service such as smtp or local): its settings, its destination queues in
// round-robin order, its jobs for the preemptive scheduler, its pending agent
// connections and whether it is throttled. Created on first use, never freed
// (as in stock). Guarantees: `pending` never exceeds maximumPending;
// `dead` and `retryAt` are set together.
import MailQueue

final class Transport {
    /// Stock's pipeline of agent connections per transport (QMGR_TRANSPORT_MAX_PEND).
    static let maximumPending = 2

    let settings: TransportSettings
    var name: String { settings.name }
    private(set) lazy var roundRobinLink = Link(self)

    /// Agent connections asked for and not yet ready.
    var pending = 0
    /// Throttled ("agent not available") with this status, until `retryAt`.
    var dead: SiteStatus?
    var retryAt: Double?
    /// transport_rate_delay: one delivery at a time, from allocation to reply.
    var rateLocked = false

    var queues = LinkList<DestinationQueue>()
    var queueByName: [ByteString: DestinationQueue] = [:]

    // The preemptive scheduler (JobScheduler).
    var jobs = LinkList<Job>()
    var jobsByTime = LinkList<Job>()
    var jobByMessage: [String: Job] = [:]
    var currentJob: Job?
    var nextUnreadJob: Job?
    var candidateCache: Job?
    var candidateCacheCurrent: Job?
    var candidateCacheTime = 0
    /// Odd, +2 per blocker reset: a job or queue whose tag equals it is a blocker.
    var blockerTag = 1
    /// Recipient slots not lent to any job (rcpt_unused); negative while extra slots are lent.
    var unusedRecipientSlots: Int

    init(settings: TransportSettings) {
        self.settings = settings
        unusedRecipientSlots = settings.recipientSlots
    }
}
