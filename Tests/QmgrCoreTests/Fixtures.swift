// Fixtures: small builders for the scheduler tests — settings from a
// main.cf-like dictionary, recipients, batches, and the agent round trip
// (connection → ready → selection) the qmgr plugin performs.
import XCTest
import MailQueue
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
        _ = connectionReady(transport: transport)
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

    func logLines() -> [LogLine] {
        takeEvents().compactMap { if case .log(let line) = $0 { return line } else { return nil } }
    }
}
