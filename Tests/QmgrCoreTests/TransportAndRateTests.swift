// TransportAndRateTests: transport selection and round robin (reference 5.6),
// transport throttling (5.8, 4.8-4.9), rate delays (5.9), the project's
// N/period destination rate limit, retry jitter, and the snapshot the query
// interface reads.
import XCTest
import MailQueue
@testable import QmgrCore

final class TransportAndRateTests: XCTestCase {
    func testTransportsAreServedRoundRobinWithTwoPendingConnectionsEach() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", batch: batch(recipients(200, transport: "smtp") + recipients(200, transport: "relay")),
                  now: 0)
        var picks: [String] = []
        while let name = s.nextConnection(now: 0) { picks.append(name) }
        // New transports are prepended: relay (created last) comes first.
        XCTAssertEqual(picks, ["relay", "smtp", "relay", "smtp"])
        XCTAssertEqual(s.connectionCompleted(transport: "smtp"), 0)
        XCTAssertEqual(s.nextConnection(now: 0), "smtp")
    }

    func testDestinationsOfAJobAreServedRoundRobin() throws {
        let s = try makeScheduler(["smtp_destination_recipient_limit": "1"])
        let assignments = ["a.example", "b.example", "c.example"].flatMap { recipients(2, nexthop: $0) }
        try s.add(queueID: "A", batch: batch(assignments), now: 0)
        let names = try s.drain(now: 0).map { $0.queueName.description }
        XCTAssertEqual(names, ["a.example", "b.example", "c.example", "a.example", "b.example", "c.example"])
    }

    func testUnavailableAgentThrottlesTheTransportAndMovesItsMailToRetry() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", batch: batch(recipients(3, nexthop: "a.example") + recipients(2, nexthop: "b.example")),
                  now: 0)
        XCTAssertEqual(s.nextConnection(now: 0), "smtp")
        s.connectionFailed(transport: "smtp", now: 10)
        let smtp = try XCTUnwrap(s.transportState("smtp", now: 10))
        XCTAssertEqual(smtp.deadReason, "4.3.0 mail transport unavailable")
        XCTAssertEqual(smtp.retryAt, 70)
        XCTAssertEqual(s.destination("retry", "4.3.0 mail transport unavailable")?.todoRecipients, 5)
        // The retry transport delivers them (error(8) writes the defer records),
        // one request per moved entry.
        let retry = try s.drain(now: 10)
        XCTAssertEqual(retry.map(\.transport), ["retry", "retry"])
        XCTAssertEqual(retry.map(\.recipients.count), [3, 2])
        XCTAssertEqual(retry.first?.nexthop, "4.3.0 mail transport unavailable")
        // New mail for the dead transport goes there too, until transport_retry_time passes.
        try s.add(queueID: "B", batch: batch(recipients(1)), now: 11)
        XCTAssertEqual(s.destination("retry", "4.3.0 mail transport unavailable")?.todo, 1)
        XCTAssertEqual(s.nextWakeup(), 70)
        s.tick(now: 70)
        XCTAssertNil(s.transportState("smtp", now: 70)?.deadReason)
    }

    func testFailedRequestPutsTheEntryBackBeforeDeferringIt() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", batch: batch(recipients(2)), now: 0)
        let delivery = try XCTUnwrap(try s.nextDelivery(now: 0))
        s.finished(deliveryID: delivery.id, outcome: .requestFailed, now: 1)
        XCTAssertEqual(s.destination("retry", "4.3.0 mail transport unavailable")?.todoRecipients, 2)
        XCTAssertNil(s.destination("smtp", "example.com"))
    }

    func testDeadRetryTransportMeansSynchronousDeferral() throws {
        let s = try makeScheduler()
        s.connectionFailed(transport: "retry", now: 0)
        try s.add(queueID: "A", batch: batch(recipients(2)), now: 1)
        XCTAssertEqual(s.nextConnection(now: 1), "smtp")
        s.connectionFailed(transport: "smtp", now: 2)
        let status = SiteStatus(status: "4.3.0", reason: "mail transport unavailable")
        XCTAssertEqual(s.takeEvents(), [
            .deferRecipients(queueID: "A", recipients: recipients(2).map(\.recipient), status: status),
            .messageIdle(queueID: "A", deferred: true, hasMore: false),
        ])
    }

    func testDestinationRateDelaySuspendsAfterEachDelivery() throws {
        let s = try makeScheduler(["smtp_destination_rate_delay": "10s", "smtp_destination_recipient_limit": "1"])
        try s.add(queueID: "A", batch: batch(recipients(3)), now: 0)
        let first = try XCTUnwrap(try s.nextDelivery(now: 0))
        XCTAssertNil(try s.nextDelivery(now: 0), "concurrency 1")
        s.finished(deliveryID: first.id, outcome: .delivered, now: 5)
        let suspended = try XCTUnwrap(s.destination("smtp", "example.com", now: 5))
        XCTAssertEqual(suspended.state, "suspended")
        XCTAssertEqual(suspended.window, -1)
        XCTAssertEqual(suspended.resumeAt, 15)
        XCTAssertNil(try s.nextDelivery(now: 14))
        XCTAssertEqual(s.nextWakeup(), 15)
        s.tick(now: 15)
        XCTAssertEqual(s.destination("smtp", "example.com", now: 15)?.window, 1)
        XCTAssertNotNil(try s.nextDelivery(now: 15))
    }

    func testTransportRateDelayAllowsOneDeliveryInFlight() throws {
        let s = try makeScheduler(["smtp_transport_rate_delay": "3s"])
        try s.add(queueID: "A", batch: batch(recipients(1, nexthop: "a.example") + recipients(1, nexthop: "b.example")),
                  now: 0)
        XCTAssertEqual(s.nextConnection(now: 0), "smtp")
        XCTAssertNil(s.nextConnection(now: 0), "rate-locked")
        XCTAssertEqual(s.transportState("smtp")?.rateLocked, true)
        XCTAssertEqual(s.connectionCompleted(transport: "smtp"), 3, "wait before sending")
        let delivery = try XCTUnwrap(try s.selectDelivery(transport: "smtp", now: 3, readMore: noMoreRecipients))
        XCTAssertNil(s.nextConnection(now: 3))
        s.finished(deliveryID: delivery.id, outcome: .delivered, now: 4)
        XCTAssertEqual(s.nextConnection(now: 4), "smtp")
    }

    func testRateLimitKeepsConcurrencyButSpacesDeliveries() throws {
        let s = try makeScheduler(["smtp_mailhost_destination_rate_limit": "2/10s",
                                   "smtp_destination_recipient_limit": "1"])
        try s.add(queueID: "A", batch: batch(recipients(5)), now: 0)
        // A burst of two, both in flight at once: no concurrency 1.
        let burst = try s.drain(now: 0)
        XCTAssertEqual(burst.count, 2)
        XCTAssertEqual(s.destination("smtp", "example.com")?.busy, 2)
        XCTAssertEqual(s.destination("smtp", "example.com")?.rateLimitTokens, 0)
        XCTAssertEqual(s.nextWakeup(), 5, "one token per 5 s")
        XCTAssertEqual(try s.drain(now: 4.9).count, 0)
        s.tick(now: 5)
        XCTAssertEqual(try s.drain(now: 5).count, 1)
        s.tick(now: 10)
        XCTAssertEqual(try s.drain(now: 10).count, 1)
        // An emptied destination is kept until its bucket is full, so no new burst comes early.
        for delivery in burst { s.finished(deliveryID: delivery.id, outcome: .delivered, now: 10) }
        XCTAssertNotNil(s.destination("smtp", "example.com", now: 10))
    }

    func testRetryJitterSpreadsWithinItsPercentage() throws {
        // Off by default: the delay is unchanged whatever the draw.
        for draw in [0.0, 0.3, 1.0] { XCTAssertEqual(RetryJitter.apply(to: 2000, settings: try makeSettings(), random: draw), 2000) }
        let g = try makeSettings(["mailhost_qmgr_retry_jitter": "10"])
        XCTAssertEqual([0.0, 0.25, 0.5, 0.75, 1.0].map { RetryJitter.apply(to: 2000, settings: g, random: $0) },
                       [1800, 1900, 2000, 2100, 2200])
        // Out-of-range draws are clamped; a tiny delay never reaches 0.
        XCTAssertEqual(RetryJitter.apply(to: 2000, settings: g, random: 7), 2200)
        let wide = try makeSettings(["mailhost_qmgr_retry_jitter": "100"])
        XCTAssertEqual(RetryJitter.apply(to: 1, settings: wide, random: 0), 1)
    }

    func testSnapshotShowsOccupancyBusyTransportAndThrottledSite() throws {
        let s = try makeScheduler(["initial_destination_concurrency": "1", "smtp_destination_recipient_limit": "1"])
        try s.add(queueID: "A", batch: batch(recipients(1, nexthop: "down.example") + recipients(3, nexthop: "up.example")),
                  now: 0)
        let deliveries = try s.drain(now: 0)
        let down = try XCTUnwrap(deliveries.first { $0.nexthop == "down.example" })
        s.finished(deliveryID: down.id, outcome: .siteFailed(SiteStatus(status: "4.4.1", reason: "no route")), now: 1)
        let snapshot = s.snapshot(now: 1)
        XCTAssertEqual(snapshot.messages, 1)
        XCTAssertEqual(snapshot.messageLimit, 20000)
        XCTAssertEqual(snapshot.recipients, 3, "one busy, two waiting")
        let smtp = try XCTUnwrap(snapshot.transports.first { $0.name == "smtp" })
        XCTAssertEqual(smtp.busy, 1)
        XCTAssertEqual(smtp.jobs.map(\.queueID), ["A"])
        let dead = try XCTUnwrap(smtp.destinations.first { $0.name == "down.example" })
        XCTAssertEqual(dead.state, "throttled")
        XCTAssertEqual(dead.deadReason, "4.4.1 delivery temporarily suspended: no route")
        XCTAssertEqual(dead.retryAt, 301)
        let up = try XCTUnwrap(smtp.destinations.first { $0.name == "up.example" })
        XCTAssertEqual([up.window, up.busy, up.todo], [1, 1, 2])
        XCTAssertEqual(smtp.jobs.first.map { [$0.readEntries, $0.selectedEntries] }, [4, 2])
    }
}
