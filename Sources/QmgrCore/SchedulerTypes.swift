// SchedulerTypes: the values that cross the scheduler's boundary — what the
// loader hands in (resolved recipients in batches), what the scheduler hands
// out (deliveries, follow-up events, log lines); how a delivery ended comes
// in as QmgrDelivery's DeliveryVerdict.
// Guarantees: plain values, no references into the scheduler's state; a
// Delivery is identified by its `id`, unique for the scheduler's lifetime.
import MailQueue

/// One recipient already resolved by the loader to a transport and a
/// destination queue (reference 5.4 steps 1-8 and 10, QmgrQueue's
/// RecipientRouting: the queue name is the nexthop, or `localpart@nexthop`
/// for a recipient limit of 1).
public struct Assignment: Equatable, Sendable {
    public var transport: String
    public var queueName: ByteString
    public var nexthop: ByteString
    public var recipient: QueuedRecipient

    public init(transport: String, queueName: ByteString, nexthop: ByteString, recipient: QueuedRecipient) {
        self.transport = transport
        self.queueName = queueName
        self.nexthop = nexthop
        self.recipient = recipient
    }

    /// The common case: the queue is named by its nexthop.
    public init(transport: String, nexthop: ByteString, recipient: QueuedRecipient) {
        self.init(transport: transport, queueName: nexthop, nexthop: nexthop, recipient: recipient)
    }
}

/// What one read of a queue file produced.
public struct RecipientBatch: Equatable, Sendable {
    public var assignments: [Assignment]
    /// The file has recipients after this batch (stock: rcpt_offset != 0).
    public var hasMore: Bool
    /// Estimated recipients still unread (stock: rcpt_unread), for the
    /// preemptive scheduler's MAX_ENTRIES; 0 when `hasMore` is false.
    public var unreadEstimate: Int

    public init(assignments: [Assignment], hasMore: Bool = false, unreadEstimate: Int = 0) {
        self.assignments = assignments
        self.hasMore = hasMore
        self.unreadEstimate = hasMore ? max(0, unreadEstimate) : 0
    }
}

/// How a message's recipients are handled, from its queue file and the scan.
public struct MessageOptions: Equatable, Sendable {
    /// One recipient per delivery request (VERP: stock's single_rcpt).
    public var oneRecipientPerEntry = false
    /// A flush (`postqueue -f`, `sendmail -q`): dead transports and
    /// destinations of this message's recipients get another chance (QMGR_FLUSH_EACH).
    public var flushEach = false

    public init(oneRecipientPerEntry: Bool = false, flushEach: Bool = false) {
        self.oneRecipientPerEntry = oneRecipientPerEntry
        self.flushEach = flushEach
    }
}

/// A DSN status and reason: why a site or transport is avoided; as
/// "<status> <reason>" it names the `retry` queue its mail is moved to.
public struct SiteStatus: Equatable, Sendable {
    public var status: ByteString
    public var reason: ByteString

    public init(status: ByteString, reason: ByteString) {
        self.status = status
        self.reason = reason
    }

    public init(_ dsn: DSN) { self.init(status: dsn.status, reason: dsn.reason) }

    /// The `retry`/`error` nexthop text error(8) parses: "<status> <reason>".
    public var nexthopText: ByteString { ByteString(status.bytes + [0x20] + reason.bytes) }
}

/// One delivery request to hand to an agent of `transport`.
public struct Delivery: Equatable, Sendable {
    public var id: Int
    public var queueID: String
    public var transport: String
    public var queueName: ByteString
    public var nexthop: ByteString
    public var recipients: [QueuedRecipient]
    /// Connection-cache request flags (MailQueue.DeliveryFlags.connectionLoad/connectionStore).
    public var flags: Int
}

public enum LogLine: Equatable, Sendable {
    case info(String)
    case warning(String)
}

/// What the scheduler asks its caller to do, in order.
public enum SchedulerEvent: Equatable, Sendable {
    /// All in-memory entries of the message are finished. The caller does
    /// the message's completion (bounce/defer/trace flushes) and then either
    /// reads more recipients (`continueMessage`) or retires it (`removeMessage`).
    case messageIdle(queueID: String, deferred: Bool, hasMore: Bool)
    /// The `retry` transport is dead too: defer these recipients
    /// synchronously with relay "none" (stock's qmgr_defer_recipient).
    case deferRecipients(queueID: String, recipients: [QueuedRecipient], status: SiteStatus)
    case log(LogLine)
}
