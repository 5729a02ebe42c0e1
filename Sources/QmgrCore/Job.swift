// Job and Peer: the preemptive scheduler's units. A job is one message's
// work for one transport; a peer is that job's work for one destination
// queue (its todo entries there). Guarantees: a job is linked on its
// transport's lists exactly when stackLevel >= 0 (-1 = retired or new);
// a peer exists while it has entries (refcount > 0).

final class Job {
    unowned let message: Message
    unowned let transport: Transport
    private(set) lazy var schedulerLink = Link(self)
    private(set) lazy var timeLink = Link(self)

    /// -1 not linked, 0 normal, > 0 preempting (depth on the stack).
    var stackLevel = -1
    weak var stackParent: Job?
    var stackChildren: [Job] = []
    var blockerTag = 0

    var peers = LinkList<Peer>()
    var peerByQueue: [ObjectIdentifier: Peer] = [:]

    var slotsUsed = 0
    var slotsAvailable = 0
    var selectedEntries = 0
    var readEntries = 0
    var recipientCount = 0
    var recipientLimit = 0

    init(message: Message, transport: Transport) {
        self.message = message
        self.transport = transport
    }

    var hasEntries: Bool { selectedEntries < readEntries }
    /// Entries the job has at least (MIN_ENTRIES).
    var minimumEntries: Int { readEntries }
    /// Entries the job may have once its message is read (MAX_ENTRIES).
    var maximumEntries: Int { readEntries + message.unreadEstimate }
    var isLinked: Bool { stackLevel >= 0 }
}

final class Peer {
    unowned let job: Job
    unowned let queue: DestinationQueue
    private(set) lazy var jobLink = Link(self)
    var refcount = 0
    var entries = LinkList<Entry>()

    init(job: Job, queue: DestinationQueue) {
        self.job = job
        self.queue = queue
    }
}
