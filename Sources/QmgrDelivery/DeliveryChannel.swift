// DeliveryChannel: one connection to a delivery agent, private/<transport>
// under the queue directory ("delivery_request_protocol"), as stock qmgr
// uses it: connect without blocking, wait for the agent to announce itself,
// then (the scheduler having picked an entry) send one DeliveryRequest and
// read the agent's reply, or close without a request when there is no work
// any more (the agent is prepared for that).
//
// Guarantees: driven only by readiness (Readiness); every way it can end is
// a DeliveryOutcome value that says whether an entry had been handed over,
// so the scheduler knows whose work to put back; garbage from the agent is
// `.crashed`, never a trap. Stock's reaction to each outcome is
// DeliveryVerdict's business.
import MailQueue

public enum DeliveryOutcome: Equatable, Sendable {
    /// No agent: the connect failed, or the greeting was missing or wrong. No entry was handed over.
    case unavailable(ExchangeError)
    /// The agent greeted, but writing the request failed: the entry was not delivered.
    case requestFailed(ExchangeError)
    /// The agent replied; per-recipient results are in the queue file and the status logs.
    case replied(DeliveryReply)
    /// The request was sent but no well-formed reply came back (agent died, garbage, timeout).
    case crashed(ExchangeError)
    /// The caller closed the connection without sending a request.
    case abandoned
}

public final class DeliveryChannel: ReadinessDriven {
    public let transport: String
    /// Driven only through this channel (its outcome is worked out after each step).
    public let exchange: AttrExchange
    public private(set) var request: DeliveryRequest?
    /// How it ended; nil while in progress or while waiting for a request.
    /// (Decoded once, when the exchange settles, not on every look.)
    public private(set) var outcome: DeliveryOutcome?

    /// Starts connecting to `queueDirectory`/private/`transport`.
    public init(transport: String, queueDirectory: String, timeouts: ExchangeTimeouts, now: Double) {
        self.transport = transport
        let peer = "private/" + transport
        exchange = AttrExchange(path: queueDirectory + "/" + peer, peer: peer,
                                protocolName: DeliveryRequest.protocolName, timeouts: timeouts, now: now)
        outcome = currentOutcome
    }

    public var descriptor: Int32? { exchange.descriptor }
    public var willClose: ((Int32) -> Void)? {
        get { exchange.willClose }
        set { exchange.willClose = newValue }
    }
    public var interest: Interest { exchange.interest }
    public var deadline: Double? { exchange.deadline }
    public var isSettled: Bool { exchange.isSettled }

    public func handle(_ events: ReadyEvents, now: Double) {
        exchange.handle(events, now: now)
        outcome = currentOutcome
    }

    public func checkDeadline(now: Double) {
        exchange.checkDeadline(now: now)
        outcome = currentOutcome
    }

    /// The agent has announced itself and waits for a request.
    public var isReadyForRequest: Bool {
        if case .greeted = exchange.state { return true }
        return false
    }

    /// Hands the agent its request; false (nothing sent) unless `isReadyForRequest`.
    @discardableResult
    public func send(_ request: DeliveryRequest, now: Double) -> Bool {
        defer { outcome = currentOutcome }
        guard exchange.send(request.encoded, now: now) else { return false }
        self.request = request
        return true
    }

    /// Closes the connection without a request.
    public func abandon() {
        exchange.abandon()
        outcome = currentOutcome
    }

    private var currentOutcome: DeliveryOutcome? {
        switch exchange.state {
        case .failed(let e):
            switch e.step {
            case .connecting, .greeting: return .unavailable(e)
            case .sending: return .requestFailed(e)
            case .reply: return .crashed(e)
            }
        case .replied(let list):
            do {
                return .replied(try DeliveryReply.decode(list, peer: exchange.peer))
            } catch {
                return .crashed(ExchangeError(peer: exchange.peer, step: .reply, problem: .malformed(error)))
            }
        case .abandoned: return .abandoned
        default: return nil
        }
    }
}
