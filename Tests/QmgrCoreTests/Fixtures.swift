// Fixtures: small builders for the scheduler tests — settings from a
// main.cf-like dictionary, recipients, batches, and the agent round trip
// (connection → ready → selection) the qmgr plugin performs.
import XCTest
import Glibc
import MailQueue
import QmgrDelivery
@testable import QmgrCore

func makeSettings(_ values: [String: String] = [:]) throws -> QmgrSettings {
    try QmgrSettings(lookup: { values[$0] })
}

func makeScheduler(_ values: [String: String] = [:]) throws -> Scheduler {
    try Scheduler(settings: makeSettings(values))
}

/// `count` recipients for one destination, offsets from `firstOffset`.
func recipients(_ count: Int, transport: String = "smtp", nexthop: String = "example.com",
                firstOffset: Int = 100) -> [Assignment] {
    (0..<count).map { i in
        Assignment(transport: transport, nexthop: ByteString(nexthop),
                   recipient: QueuedRecipient(offset: firstOffset + i, address: ByteString("user\(i)@\(nexthop)")))
    }
}

func batch(_ assignments: [Assignment]) -> RecipientBatch { RecipientBatch(assignments: assignments) }

let noMoreRecipients: RecipientReader = { _, _ in RecipientBatch(assignments: []) }

extension Scheduler {
    /// The plugin's round trip for one agent: nil when no transport
    /// qualifies or the agent gets nothing.
    func nextDelivery(now: Double, readMore: RecipientReader = noMoreRecipients) throws -> Delivery? {
        guard let transport = nextConnection(now: now) else { return nil }
        _ = connectionCompleted(transport: transport)
        return try selectDelivery(transport: transport, now: now, readMore: readMore)
    }

    /// Selects until nothing is selectable; returns the deliveries.
    func drain(now: Double, readMore: RecipientReader = noMoreRecipients) throws -> [Delivery] {
        var result: [Delivery] = []
        while let delivery = try nextDelivery(now: now, readMore: readMore) { result.append(delivery) }
        return result
    }

    func destination(_ transport: String, _ name: String, now: Double = 0) -> DestinationSnapshot? {
        snapshot(now: now).transports.first { $0.name == transport }?.destinations.first { $0.name == name }
    }

    func transportState(_ name: String, now: Double = 0) -> TransportSnapshot? {
        snapshot(now: now).transports.first { $0.name == name }
    }

    /// An agent's reply (or failure) for a delivery, judged by QmgrDelivery as the plugin does.
    func finished(deliveryID id: Int, outcome reply: Reply, now: Double) {
        guard let entry = busyByDeliveryID[id] else { return XCTFail("no busy delivery \(id)") }
        let transport = entry.queue.transport.name
        let verdict = DeliveryVerdict.judge(reply.outcome(transport), transport: transport, queueID: entry.message.queueID)
        apply(verdict, transport: transport, deliveryID: id, now: now)
    }

    /// No agent for `transport` (after nextConnection): connection refused.
    func connectionFailed(transport: String, now: Double) {
        _ = connectionCompleted(transport: transport)
        let outcome = QmgrDelivery.DeliveryOutcome.unavailable(
            ExchangeError(peer: "private/" + transport, step: .connecting, problem: .connect(errno: ECONNREFUSED)))
        apply(DeliveryVerdict.judge(outcome, transport: transport, queueID: ""), transport: transport, deliveryID: nil,
              now: now)
    }

    func logLines() -> [LogLine] {
        takeEvents().compactMap { if case .log(let line) = $0 { return line } else { return nil } }
    }
}

/// The agent replies the tests use, as the wire outcomes QmgrDelivery judges.
enum Reply {
    /// Status 0, no site reason.
    case delivered
    /// Status non-zero without a site reason: some recipients deferred.
    case someDeferred
    /// Status non-zero with a site status and reason.
    case siteFailed(SiteStatus)
    /// Status 0 with a site reason: no feedback.
    case doneWithSiteReason
    /// No well-formed reply.
    case agentCrashed
    /// The request could not be written.
    case requestFailed

    func outcome(_ transport: String) -> QmgrDelivery.DeliveryOutcome {
        let peer = "private/" + transport
        switch self {
        case .delivered: return .replied(DeliveryReply(status: 0))
        case .someDeferred: return .replied(DeliveryReply(status: -1))
        case .siteFailed(let site):
            return .replied(DeliveryReply(hopStatus: DSN(status: site.status, reason: site.reason), status: -1))
        case .doneWithSiteReason:
            return .replied(DeliveryReply(hopStatus: DSN(status: "4.0.0", reason: "see you"), status: 0))
        case .agentCrashed: return .crashed(ExchangeError(peer: peer, step: .reply, problem: .disconnected))
        case .requestFailed: return .requestFailed(ExchangeError(peer: peer, step: .sending, problem: .write(errno: EPIPE)))
        }
    }
}
