// DeliveryCounters: how the qmgr's delivery requests ended, per transport,
// counted since the qmgr started (issue 10's "deliveries by status", served
// by the query interface). The qmgr sees one reply per request, not
// per-recipient results (the agent marks recipients done and reports
// bounces and deferrals to bounce(8) itself, reference 4.5), so the
// outcomes are those of the reply: `ok` (status 0: every recipient was
// delivered or bounced by the agent), `deferred` (status non-zero: some
// recipient is to be retried), `crashed` (no reply, or a malformed one), and
// `unsent` (the request could not be written; its recipients go back to the
// todo list and on to the `retry` transport, which counts them again).
// Recipients that the qmgr defers to `retry` because a destination or
// transport is dead are counted under `retry`.
// Guarantees: counts only grow; a transport appears once it has a count.
import QmgrDelivery

public enum DeliveryResult: String, CaseIterable, Sendable {
    case ok
    case deferred
    case crashed
    case unsent

    /// How a request handed to an agent ended; nil when none was handed over.
    init?(_ verdict: DeliveryVerdict) {
        switch (verdict.entry, verdict.transport) {
        case (.notChosen, _): return nil
        case (.backToTodo, _): self = .unsent
        case (.finished, .unchanged): self = .crashed
        case (.finished, _): self = verdict.messageDeferred ? .deferred : .ok
        }
    }
}

/// Requests and the recipients in them, for one transport and result.
public struct DeliveryCount: Equatable, Sendable {
    public var transport: String
    public var result: DeliveryResult
    public var requests: Int
    public var recipients: Int
}

struct DeliveryCounters {
    private var counts: [String: [DeliveryResult: (requests: Int, recipients: Int)]] = [:]

    mutating func add(_ result: DeliveryResult, transport: String, recipients: Int) {
        var count = counts[transport, default: [:]][result, default: (0, 0)]
        count.requests += 1
        count.recipients += recipients
        counts[transport, default: [:]][result] = count
    }

    /// By transport name, then in DeliveryResult's order.
    var all: [DeliveryCount] {
        counts.keys.sorted().flatMap { transport in
            DeliveryResult.allCases.compactMap { result in
                counts[transport]?[result].map {
                    DeliveryCount(transport: transport, result: result, requests: $0.requests, recipients: $0.recipients)
                }
            }
        }
    }
}
