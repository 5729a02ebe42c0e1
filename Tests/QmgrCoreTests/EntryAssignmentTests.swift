// EntryAssignmentTests: the leaky bucket at intake and how recipients become
// entries (reference 5.3-5.5; src/qmgr/qmgr_message.c qmgr_message_assign and
// qmgr_message_read's recipient limit): recipient limits split entries and
// messages going idle.
import XCTest
import MailQueue
@testable import QmgrCore

final class EntryAssignmentTests: XCTestCase {
    func testRecipientLimitSplits120RecipientsInto50And50And20() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", batch: batch(recipients(120)), now: 0)
        XCTAssertEqual(s.destination("smtp", "example.com")?.todo, 3)
        let deliveries = try s.drain(now: 0)
        XCTAssertEqual(deliveries.map { $0.recipients.count }, [50, 50, 20])
        XCTAssertEqual(deliveries.flatMap { $0.recipients.map(\.offset) }, Array(100..<220))
    }

    func testLocalTransportTakesOneRecipientPerEntry() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", batch: batch(recipients(3, transport: "local", nexthop: "host.example")), now: 0)
        XCTAssertEqual(s.destination("local", "host.example")?.todo, 3)
        // local's concurrency limit is 2: two at once.
        let deliveries = try s.drain(now: 0)
        XCTAssertEqual(deliveries.map { $0.recipients.count }, [1, 1])
    }

    func testVERPMessagesGetOneRecipientPerEntry() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(4)), now: 0)
        XCTAssertEqual(s.destination("smtp", "example.com")?.todo, 4)
    }

    func testZeroRecipientLimitMeansNoLimit() throws {
        let s = try makeScheduler(["smtp_destination_recipient_limit": "0"])
        try s.add(queueID: "A", batch: batch(recipients(500)), now: 0)
        XCTAssertEqual(try s.drain(now: 0).map { $0.recipients.count }, [500])
    }

    func testEntriesAreOrderedByTransportThenQueue() throws {
        let s = try makeScheduler()
        let mixed = recipients(1, transport: "smtp", nexthop: "b.example", firstOffset: 1)
            + recipients(1, transport: "relay", nexthop: "z.example", firstOffset: 2)
            + recipients(1, transport: "smtp", nexthop: "a.example", firstOffset: 3)
            + recipients(1, transport: "smtp", nexthop: "b.example", firstOffset: 4)
        try s.add(queueID: "A", batch: batch(mixed), now: 0)
        XCTAssertEqual(s.destination("smtp", "b.example")?.todoRecipients, 2)
        let jobs = s.snapshot(now: 0).transports.filter { !$0.jobs.isEmpty }.map(\.name)
        XCTAssertEqual(Set(jobs), ["relay", "smtp"])
        XCTAssertEqual(s.transportState("smtp")?.destinations.map(\.todoRecipients), [2, 1])
    }

    func testActiveLimitAndRecipientLimitGateIntake() throws {
        let s = try makeScheduler(["qmgr_message_active_limit": "2", "qmgr_message_recipient_limit": "30",
                                   "qmgr_message_recipient_minimum": "4"])
        XCTAssertEqual(s.admissionLimit(), 30)
        try s.add(queueID: "A", batch: batch(recipients(28)), now: 0)
        // 30 − 28 in memory, but never below the per-message minimum.
        XCTAssertEqual(s.admissionLimit(), 4)
        try s.add(queueID: "B", batch: batch(recipients(1, nexthop: "b.example")), now: 0)
        XCTAssertNil(s.admissionLimit())
        XCTAssertEqual(s.messageCount, 2)
    }

    func testEmptyBatchMakesTheMessageIdleAtOnce() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", batch: batch([]), now: 0)
        XCTAssertEqual(s.takeEvents(), [.messageIdle(queueID: "A", deferred: false, hasMore: false)])
        XCTAssertTrue(s.removeMessage(queueID: "A"))
        XCTAssertEqual(s.messageCount, 0)
    }

    func testMessageGoesIdleWhenItsLastEntryIsDoneAndReportsDeferral() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", batch: batch(recipients(2, nexthop: "a.example") + recipients(1, nexthop: "b.example")),
                  now: 0)
        let deliveries = try s.drain(now: 0)
        XCTAssertEqual(deliveries.count, 2)
        XCTAssertFalse(s.removeMessage(queueID: "A"), "still busy")
        s.finished(deliveryID: deliveries[0].id, outcome: .someDeferred, now: 1)
        XCTAssertEqual(s.takeEvents(), [])
        s.finished(deliveryID: deliveries[1].id, outcome: .delivered, now: 1)
        XCTAssertEqual(s.takeEvents(), [.messageIdle(queueID: "A", deferred: true, hasMore: false)])
        XCTAssertTrue(s.removeMessage(queueID: "A"))
        XCTAssertEqual(s.snapshot(now: 1).recipients, 0)
        // Empty, ready queues are forgotten.
        XCTAssertEqual(s.transportState("smtp")?.destinations, [])
    }

    func testMoreRecipientsAreReadWhenSlotsAreFree() throws {
        // A message read in batches of 10 (the recipient minimum): the refill
        // happens inside selection once refill_limit slots are free.
        let s = try makeScheduler(["qmgr_message_recipient_limit": "20000", "default_recipient_refill_limit": "5"])
        var remaining = recipients(25, firstOffset: 1000)
        var reads: [Int] = []
        let reader: RecipientReader = { id, limit in
            XCTAssertEqual(id, "A")
            reads.append(limit)
            let taken = Array(remaining.prefix(10))
            remaining.removeFirst(taken.count)
            return RecipientBatch(assignments: taken, hasMore: !remaining.isEmpty, unreadEstimate: remaining.count)
        }
        try s.add(queueID: "A", batch: reader("A", 10), now: 0)
        // The job took the transport's slot pool, so the first selection refills at once.
        var delivered: [Int] = []
        let deliveries = try s.drain(now: 0, readMore: reader)
        XCTAssertEqual(reads, [10, 5000])
        XCTAssertEqual(deliveries.map { $0.recipients.count }, [20])
        delivered += deliveries.flatMap { $0.recipients.map(\.offset) }
        s.finished(deliveryID: deliveries[0].id, outcome: .delivered, now: 1)
        // The rest is read when the message is idle (stock: qmgr_active_done's realloc).
        XCTAssertEqual(s.takeEvents(), [.messageIdle(queueID: "A", deferred: false, hasMore: true)])
        try s.continueMessage(queueID: "A", batch: reader("A", s.readLimit(queueID: "A")), now: 1)
        delivered += try s.drain(now: 1, readMore: reader).flatMap { $0.recipients.map(\.offset) }
        XCTAssertEqual(delivered, Array(1000..<1025))
    }

    func testIdleMessageWithMoreRecipientsContinues() throws {
        // No transport slot pool: the message keeps its 10-recipient minimum,
        // fewer free slots than the refill limit, so nothing is read during selection.
        let s = try makeScheduler(["smtp_recipient_limit": "0"])
        try s.add(queueID: "A", batch: RecipientBatch(assignments: recipients(1), hasMore: true, unreadEstimate: 1),
                  now: 0)
        let first = try s.drain(now: 0)
        XCTAssertEqual(first.count, 1)
        s.finished(deliveryID: first[0].id, outcome: .delivered, now: 0)
        XCTAssertEqual(s.takeEvents(), [.messageIdle(queueID: "A", deferred: false, hasMore: true)])
        XCTAssertGreaterThan(s.readLimit(queueID: "A"), 0)
        try s.continueMessage(queueID: "A", batch: batch(recipients(1, firstOffset: 500)), now: 1)
        XCTAssertEqual(try s.drain(now: 1).map { $0.recipients.map(\.offset) }, [[500]])
    }

    func testClogWarningInStockWording() throws {
        let s = try makeScheduler(["qmgr_message_active_limit": "10", "smtp_destination_recipient_limit": "1"])
        try s.add(queueID: "A", batch: batch(recipients(3, nexthop: "slow.example")), now: 0)
        let lines = s.logLines()
        XCTAssertEqual(lines.first, .warning("mail for slow.example is using up 3 of 1 active queue entries"))
        XCTAssertEqual(lines.last, .warning("to turn off these warnings specify: qmgr_clog_warn_time = 0"))
        XCTAssertTrue(lines.contains(.warning("you may need to reduce smtp connect and helo timeouts")))
        // Not again within qmgr_clog_warn_time.
        try s.add(queueID: "B", batch: batch(recipients(1, nexthop: "slow.example")), now: 10)
        XCTAssertEqual(s.logLines(), [])
    }
}
