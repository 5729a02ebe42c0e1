// LoadedMessage and RoutedBatch: what loading a message from the active
// queue produces, as values. A LoadedMessage carries what the scheduler and
// the delivery requests need of the message (its envelope as read, its
// flags); a RoutedBatch carries one batch of recipients, each routed to a
// (transport, nexthop, per-destination queue), sorted in stock's order,
// plus the recipients stock routes nowhere: double-bounce mail discarded
// (the caller logs it as sent and marks it done) and, for a REDIRECT
// message, every recipient but the one kept.
// Routes to the `retry` and `error` transports carry, in the nexthop, the
// DSN status and reason the error(8) agent reports ("4.3.2 deferred
// transport"); `statusReply` splits it.
import MailQueue

public struct Route: Hashable, Sendable, CustomStringConvertible {
    public var transport: ByteString
    public var nexthop: ByteString
    /// The per-destination queue (lower-case): nexthop, or localpart@nexthop.
    public var queueName: ByteString

    public init(transport: ByteString, nexthop: ByteString, queueName: ByteString) {
        self.transport = transport
        self.nexthop = nexthop
        self.queueName = queueName
    }

    /// For `retry` and `error` routes: the DSN status and the reason text.
    public var statusReply: (status: ByteString, reason: ByteString)? {
        guard transport == "retry" || transport == "error" else { return nil }
        guard let space = nexthop.bytes.firstIndex(of: UInt8(ascii: " ")) else { return (nexthop, .empty) }
        return (ByteString(nexthop.bytes[..<space]), ByteString(nexthop.bytes[(space + 1)...]))
    }

    public var description: String { "\(transport):\(nexthop) (queue \(queueName))" }
}

public struct RoutedRecipient: Equatable, Sendable {
    /// The recipient, with the address trivial-rewrite (or a REDIRECT) gave it.
    public var recipient: QueuedRecipient
    public var route: Route
    /// trivial-rewrite's flags (empty for content-filter and status routes).
    public var resolveFlags: ResolveFlags

    public init(recipient: QueuedRecipient, route: Route, resolveFlags: ResolveFlags) {
        self.recipient = recipient
        self.route = route
        self.resolveFlags = resolveFlags
    }
}

public struct RoutedBatch: Equatable, Sendable {
    /// In stock's order (transport, queue name, domain, address): recipients
    /// of one (transport, queue) are consecutive.
    public var routed: [RoutedRecipient] = []
    /// Local mail to the double-bounce address: stock logs it `status=sent`
    /// with `relay=none` and `discardedDSN`, then marks the recipient done.
    public var discarded: [QueuedRecipient] = []
    /// REDIRECT messages: the recipients after the first, delivered nowhere.
    public var unassigned: [QueuedRecipient] = []
    /// What the envelope pass warned about (stock logs "<id>: <warning>").
    public var warnings: [EnvelopeWarning] = []

    public init() {}

    /// The DSN status and text of a discarded double-bounce recipient.
    public static let discardedDSN = (status: ByteString("2.0.0"),
                                      reason: ByteString("undeliverable postmaster notification discarded"))
}

public struct LoadedMessage: Equatable, Sendable {
    public let id: QueueID
    /// Relative to queue_directory ("active/<id>").
    public let path: String
    /// Scan flags plus those of the file's mode bits (stock's qflags).
    public let flags: ScanFlags
    /// When the message entered the active queue (MSG_STATS active_arrival).
    public let activeArrival: MessageStats.Time
    /// The envelope read so far (sender, sizes, DSN, client attributes, refill state).
    public internal(set) var envelope: Envelope
    /// trace_flags of the envelope, plus REC_DLY_SENT when confirm_delay_cleared
    /// applies (a delay warning was sent).
    public internal(set) var traceFlags: Int
    /// Force-expired with a non-empty defer log: no deliveries at all; the
    /// message goes straight to completion, which expires it with that log.
    public internal(set) var expiresWithDeferLog = false
    /// "<id>: from=<sender>, size=N, nrcpt=M (queue active)", logged as info.
    public internal(set) var openedLogLine: String

    /// More recipients wait in the file (a refill reads them).
    public var hasUnreadRecipients: Bool { envelope.refillOffset != nil }
    /// An address verification probe (sendmail -bv, or the verify service).
    public var isVerificationProbe: Bool { traceFlags & DeliveryFlags.mtaVerify != 0 }
    /// VERP: one recipient per delivery request.
    public var isVERP: Bool { envelope.verpDelimiters != nil }
}
