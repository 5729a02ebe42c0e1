// DestinationQueue: the in-memory queue of one destination (transport +
// queue name, usually the nexthop): its concurrency window and feedback
// state, its todo and busy entries, and why and until when it is avoided.
// The window encodes the state as in stock: > 0 ready (the window),
// 0 throttled ("dead": `deadStatus` says why, `retryAt` when it gets
// another chance), -1 suspended by a rate delay until `resumeAt`.
// Guarantees: `deadStatus != nil` exactly when the window is 0.
import MailQueue

final class DestinationQueue {
    static let throttled = 0
    static let suspended = -1

    unowned let transport: Transport
    let name: ByteString
    let nexthop: ByteString
    private(set) lazy var transportLink = Link(self)

    var window: Int
    var success = 0.0
    var failure = 0.0
    var failCohorts = 0.0
    var deadStatus: SiteStatus?
    var retryAt: Double?
    var resumeAt: Double?

    var todo = LinkList<Entry>()
    var busy = LinkList<Entry>()

    /// Connection-cache flags for the next request (DeliveryFlags).
    var deliveryFlags = 0
    /// When a busy entry last completed; stock starts at time 0.
    var lastDone = -Double.infinity
    var clogTimeToWarn = -Double.infinity
    var blockerTag = 0
    /// The project's `N/period` limit (nil = off) and the time its next token is due.
    var tokens: TokenBucket?
    var tokenWaitUntil: Double?

    init(transport: Transport, name: ByteString, nexthop: ByteString, now: Double) {
        self.transport = transport
        self.name = name
        self.nexthop = nexthop
        window = transport.settings.initialConcurrency
        if let limit = transport.settings.destinationRateLimit { tokens = TokenBucket(limit: limit, now: now) }
    }

    var isReady: Bool { window > 0 }
    var isThrottled: Bool { window == DestinationQueue.throttled }
    var isSuspended: Bool { window == DestinationQueue.suspended }
    var isEmpty: Bool { todo.isEmpty && busy.isEmpty }

    /// Deliveries this queue may start now: the free window, bounded by the
    /// rate limit's tokens. Stock's test is `window > busy`.
    func freeSlots(now: Double) -> Int {
        let free = window - busy.count
        guard free > 0, tokens != nil else { return free }
        return min(free, tokens!.available(now: now))
    }

    /// Stock's QMGR_QUEUE_STATUS words, for the snapshot.
    var stateName: String {
        isReady ? "ready" : isThrottled ? "throttled" : "suspended"
    }
}
