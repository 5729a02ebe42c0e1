// DeliveryVerdict: what stock qmgr (Postfix 3.7 qmgr_deliver) does after a
// delivery connection ends, as a value the scheduler applies: the
// transport's and the destination queue's throttle state, concurrency
// feedback, whether the message now has recipients to retry, what becomes
// of the entry, and stock's warning (or fatal) text.
//
// Who marks recipients done (R -> D in the queue file): never qmgr after a
// delivery. The agent marks each recipient it delivered, or bounced after
// bounce(8) logged it, itself; a deferred recipient keeps its R and is in
// the defer log (written by the agent through defer(8)); bounce(8) marks
// recipients done when a defer flush with DELRCPT (expiry) succeeds. qmgr
// marks a recipient done itself only when it discards mail to the
// double-bounce address (not this module). After a crash qmgr writes
// nothing per recipient: what the agent did not mark is simply retried.
//
// The reaction matrix (reference 4.8), for the outcome of one connection:
// - unavailable agent, or request not written: throttle the transport with
//   "4.3.0 mail transport unavailable" and defer the todo entries of every
//   queue of the transport with that DSN (to the `retry` transport, see
//   RecipientDeferral); a request that was not written first puts its
//   entry back on the todo list, so it is deferred with them;
// - a reply with status 0: nothing to retry; with status non-zero: the
//   message has recipients to retry;
// - a hop status (the reply's DSN status non-empty) with status non-zero:
//   the DSN is sanitised (invalid code -> 4.0.0, empty reason -> "unknown
//   error", reason prefixed "delivery temporarily suspended: ") and is the
//   queue's negative feedback; the scheduler applies it only while the
//   queue is ready, and when that throttles (kills) the queue, defers the
//   queue's todo entries with it;
// - positive feedback for the queue only when the (sanitised) reason is
//   empty; the transport is unthrottled after any well-formed reply;
// - a crash (no or malformed reply): the message has recipients to retry,
//   no feedback, the transport is left as it is (its rate lock too).
// Not reproduced: stock reuses one DSN buffer across replies, so after a
// crash it may apply a previous reply's hop status again; here a crash
// gives no feedback, which is what stock does whenever that buffer is empty.
// Stock ends the process when its watchdog (daemon_timeout) expires while
// waiting for an agent; the verdict carries that text as `fatal` and leaves
// the decision to the caller.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public struct DeliveryVerdict: Equatable, Sendable {
    public enum TransportAction: Equatable, Sendable {
        case throttle(DSN)
        case unthrottle
        case unchanged
    }

    public enum QueueAction: Equatable, Sendable {
        case positiveFeedback
        /// Apply only while the queue is ready; if it becomes dead, defer its todo entries with this DSN.
        case negativeFeedback(DSN)
        case unchanged
    }

    public enum EntryFate: Equatable, Sendable {
        /// No entry had been handed to the agent.
        case notChosen
        /// The request was not delivered: back to the todo list (then deferred with the transport's todo).
        case backToTodo
        /// The delivery attempt is over: release the agent, retire the entry.
        case finished
    }

    public var transport: TransportAction
    public var queue: QueueAction
    /// Defer the todo entries of every queue of this transport with this DSN (reference 4.9).
    public var deferTransportTodo: DSN?
    public var entry: EntryFate
    /// Some recipient of the message must be retried (stock's message "defer" flag).
    public var messageDeferred: Bool
    /// Stock's warnings, without the "warning: " prefix.
    public var warnings: [String]
    /// Stock ends the process with this text (watchdog expiry).
    public var fatal: String?

    public static let suspendedPrefix: ByteString = "delivery temporarily suspended: "
    public static let transportUnavailable = DSN(status: "4.3.0", reason: "mail transport unavailable")

    public init(transport: TransportAction, queue: QueueAction, deferTransportTodo: DSN? = nil, entry: EntryFate,
                messageDeferred: Bool, warnings: [String] = [], fatal: String? = nil) {
        self.transport = transport
        self.queue = queue
        self.deferTransportTodo = deferTransportTodo
        self.entry = entry
        self.messageDeferred = messageDeferred
        self.warnings = warnings
        self.fatal = fatal
    }

    /// Stock's reaction to how a connection to `transport` ended; `queueID` names the
    /// message in the reply-watchdog text.
    public static func judge(_ outcome: DeliveryOutcome, transport: String, queueID: String) -> DeliveryVerdict {
        switch outcome {
        case .abandoned:
            return DeliveryVerdict(transport: .unchanged, queue: .unchanged, entry: .notChosen, messageDeferred: false)
        case .unavailable(let e):
            var v = unavailable(entry: .notChosen)
            if case .watchdogTimeout = e.problem { v.fatal = "timeout connecting to transport: \(transport)" }
            v.warnings = [e.step == .connecting ? connectWarning(e, transport) : replyWarning(e)]
            return v
        case .requestFailed(let e):
            var v = unavailable(entry: .backToTodo)
            v.warnings = ["write to process (\(transport)): \(SystemErrno(writeErrno(e)))"]
            return v
        case .crashed(let e):
            var v = DeliveryVerdict(transport: .unchanged, queue: .unchanged, entry: .finished, messageDeferred: true,
                                    warnings: [replyWarning(e)])
            if case .watchdogTimeout = e.problem {
                v.fatal = "\(queueID): timeout receiving delivery status from transport: \(transport)"
            }
            return v
        case .replied(let reply):
            return replied(reply)
        }
    }

    private static func unavailable(entry: EntryFate) -> DeliveryVerdict {
        DeliveryVerdict(transport: .throttle(transportUnavailable), queue: .unchanged,
                        deferTransportTodo: transportUnavailable, entry: entry, messageDeferred: false)
    }

    private static func replied(_ reply: DeliveryReply) -> DeliveryVerdict {
        let deferred = reply.status != 0
        var hop = reply.hopStatus
        var queue = QueueAction.unchanged
        if deferred && !hop.status.isEmpty {
            hop = sanitised(hop)
            queue = .negativeFeedback(hop)
        }
        if hop.reason.isEmpty { queue = .positiveFeedback }
        return DeliveryVerdict(transport: .unthrottle, queue: queue, entry: .finished, messageDeferred: deferred)
    }

    /// The hop status as stock uses it for throttling and deferral texts.
    public static func sanitised(_ hop: DSN) -> DSN {
        var d = hop
        if !DSNCode.isValid(d.status) { d.status = "4.0.0" }
        if d.reason.isEmpty { d.reason = "unknown error" }
        d.reason = ByteString(suspendedPrefix.bytes + d.reason.bytes)
        return d
    }

    private static func connectWarning(_ e: ExchangeError, _ transport: String) -> String {
        if case .connect(let code) = e.problem { return "connect to transport private/\(transport): \(SystemErrno(code))" }
        return "private/\(transport) socket: malformed response"
    }

    /// A read that failed outright is stock's "premature disconnect"; anything
    /// else (end of input, garbage, an unfinished list) its "malformed response".
    private static func replyWarning(_ e: ExchangeError) -> String {
        if case .read = e.problem { return "\(e.peer) socket: premature disconnect" }
        return "\(e.peer) socket: malformed response"
    }

    private static func writeErrno(_ e: ExchangeError) -> Int32 {
        switch e.problem {
        case .write(let code): return code
        case .ipcTimeout: return ETIMEDOUT   // what stock's timed write reports
        default: return EPIPE
        }
    }
}
