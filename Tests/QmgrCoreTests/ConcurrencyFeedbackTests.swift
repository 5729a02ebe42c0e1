// ConcurrencyFeedbackTests: slow start, positive and negative feedback,
// failed cohorts and the dead-destination cache (reference 5.7, 4.8; src/qmgr/
// qmgr_queue.c qmgr_queue_unthrottle/qmgr_queue_throttle, qmgr_deliver.c's
// reply handling). Expected windows are worked out from stock's arithmetic
// (the feedback/2 overshoot guards and the ≥ cohort test).
import XCTest
import MailQueue
@testable import QmgrCore

final class ConcurrencyFeedbackTests: XCTestCase {
    let failure = SiteStatus(status: "4.4.1", reason: "connect to mx.example.com[192.0.2.1]:25: Connection refused")

    func testSlowStartFromInitialConcurrencyUpToTheLimit() throws {
        let s = try makeScheduler(["smtp_destination_concurrency_limit": "8"])
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(40)), now: 0)
        // The window starts at initial_destination_concurrency (5).
        var busy = try s.drain(now: 0)
        XCTAssertEqual(busy.count, 5)
        XCTAssertEqual(s.destination("smtp", "example.com")?.window, 5)
        // Each delivery without a site problem adds 1 (feedback "1") while the
        // window is below busy + initial and the limit.
        var windows: [Int] = []
        for _ in 0..<6 {
            let done = busy.removeFirst()
            s.finished(deliveryID: done.id, outcome: .delivered, now: 1)
            windows.append(s.destination("smtp", "example.com")?.window ?? -99)
            busy += try s.drain(now: 1)
        }
        XCTAssertEqual(windows, [6, 7, 8, 8, 8, 8])
        XCTAssertEqual(busy.count, 8, "never more busy than the window")
    }

    func testFractionalPositiveFeedback() throws {
        let s = try makeScheduler(["smtp_destination_concurrency_positive_feedback": "1/concurrency"])
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(40)), now: 0)
        var busy = try s.drain(now: 0)
        var windows: [Int] = []
        for _ in 0..<6 {
            s.finished(deliveryID: busy.removeFirst().id, outcome: .delivered, now: 1)
            windows.append(s.destination("smtp", "example.com")?.window ?? -99)
            busy += try s.drain(now: 1)
        }
        // 1/5 per delivery: success 0.2 … 0.8 (0.8 + 0.1 < 1), +1 at the 5th;
        // then 1/6 per delivery.
        XCTAssertEqual(windows, [5, 5, 5, 5, 6, 6])
    }

    func testDefaultCohortLimitKillsTheSiteAfterThreeFailuresOfAWindowOfFive() throws {
        let s = try makeScheduler(["destination_concurrency_feedback_debug": "yes"])
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(8)), now: 0)
        let busy = try s.drain(now: 0)
        XCTAssertEqual(busy.count, 5)
        _ = s.takeEvents()
        s.finished(deliveryID: busy[0].id, outcome: .siteFailed(failure), now: 10)
        XCTAssertEqual(s.destination("smtp", "example.com")?.window, 3)
        XCTAssertEqual(s.logLines(), [
            .info("qmgr_queue_throttle: feedback 1"),
            .info("qmgr_queue_throttle: queue example.com: limit 20 window 3 success 0 failure 1 fail_cohorts 0.2"),
        ])
        s.finished(deliveryID: busy[1].id, outcome: .siteFailed(failure), now: 11)
        XCTAssertEqual(s.destination("smtp", "example.com")?.window, 2)
        s.finished(deliveryID: busy[2].id, outcome: .siteFailed(failure), now: 12)
        let dead = try XCTUnwrap(s.destination("smtp", "example.com", now: 12))
        XCTAssertEqual(dead.state, "throttled")
        XCTAssertEqual(dead.window, 0)
        XCTAssertEqual(dead.deadReason, "4.4.1 delivery temporarily suspended: "
            + "connect to mx.example.com[192.0.2.1]:25: Connection refused")
        XCTAssertEqual(dead.retryAt, 12 + 300)
        // Its three waiting entries went to `retry`, named by the DSN text.
        XCTAssertEqual(dead.todo, 0)
        XCTAssertEqual(s.destination("retry", try XCTUnwrap(dead.deadReason))?.todo, 3)
        // A new message for the dead site goes to `retry` too.
        try s.add(queueID: "B", batch: batch(recipients(1)), now: 13)
        XCTAssertEqual(s.destination("retry", try XCTUnwrap(dead.deadReason))?.todo, 4)
        // After minimal_backoff_time the site is alive again with window = busy (2 in flight).
        XCTAssertEqual(s.nextWakeup(), 312)
        s.tick(now: 312)
        XCTAssertEqual(s.destination("smtp", "example.com")?.state, "ready")
        XCTAssertEqual(s.destination("smtp", "example.com")?.window, 2)
        XCTAssertNil(s.nextWakeup())
    }

    func testPerWindowNegativeFeedbackDiesAtTheFifthFailure() throws {
        let s = try makeScheduler(["smtp_destination_concurrency_negative_feedback": "1/concurrency"])
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(5)), now: 0)
        let busy = try s.drain(now: 0)
        var windows: [Int] = []
        for delivery in busy {
            s.finished(deliveryID: delivery.id, outcome: .siteFailed(failure), now: 1)
            windows.append(s.destination("smtp", "example.com")?.window ?? -99)
        }
        XCTAssertEqual(windows, [4, 4, 4, 3, 0])
    }

    func testZeroCohortLimitNeverDeclaresDeath() throws {
        let s = try makeScheduler(["default_destination_concurrency_failed_cohort_limit": "0"])
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(5)), now: 0)
        for delivery in try s.drain(now: 0) { s.finished(deliveryID: delivery.id, outcome: .siteFailed(failure), now: 1) }
        XCTAssertEqual(s.destination("smtp", "example.com")?.window, nil, "alive, empty and forgotten")
        XCTAssertNil(s.nextWakeup())
    }

    func testPositiveFeedbackResetsFailedCohorts() throws {
        let s = try makeScheduler(["default_destination_concurrency_failed_cohort_limit": "2"])
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(12)), now: 0)
        let busy = try s.drain(now: 0)
        s.finished(deliveryID: busy[0].id, outcome: .siteFailed(failure), now: 1)
        s.finished(deliveryID: busy[1].id, outcome: .siteFailed(failure), now: 1)
        s.finished(deliveryID: busy[2].id, outcome: .delivered, now: 1)
        s.finished(deliveryID: busy[3].id, outcome: .siteFailed(failure), now: 1)
        s.finished(deliveryID: busy[4].id, outcome: .siteFailed(failure), now: 1)
        XCTAssertEqual(s.destination("smtp", "example.com")?.state, "ready")
    }

    func testRepliesWithoutFeedback() throws {
        let s = try makeScheduler()
        try s.add(queueID: "A", options: MessageOptions(oneRecipientPerEntry: true), batch: batch(recipients(8)), now: 0)
        let busy = try s.drain(now: 0)
        // A crash and a site reason with status 0 change nothing; the crash defers the message.
        s.finished(deliveryID: busy[0].id, outcome: .agentCrashed, now: 1)
        s.finished(deliveryID: busy[1].id, outcome: .doneWithSiteReason, now: 1)
        XCTAssertEqual(s.destination("smtp", "example.com")?.window, 5)
        for delivery in busy.dropFirst(2) { s.finished(deliveryID: delivery.id, outcome: .delivered, now: 1) }
        for delivery in try s.drain(now: 1) { s.finished(deliveryID: delivery.id, outcome: .delivered, now: 1) }
        XCTAssertEqual(s.takeEvents().last, .messageIdle(queueID: "A", deferred: true, hasMore: false))
    }

    func testInvalidDSNFromTheAgentIsSanitised() throws {
        let s = try makeScheduler(["default_destination_concurrency_failed_cohort_limit": "1",
                                   "initial_destination_concurrency": "1"])
        try s.add(queueID: "A", batch: batch(recipients(1)), now: 0)
        let delivery = try XCTUnwrap(try s.nextDelivery(now: 0))
        s.finished(deliveryID: delivery.id, outcome: .siteFailed(SiteStatus(status: "x", reason: "")), now: 1)
        XCTAssertEqual(s.destination("smtp", "example.com")?.deadReason,
                       "4.0.0 delivery temporarily suspended: unknown error")
    }

    func testFlushRevivesDeadSitesAndTransports() throws {
        let s = try makeScheduler(["initial_destination_concurrency": "1"])
        try s.add(queueID: "A", batch: batch(recipients(1)), now: 0)
        let delivery = try XCTUnwrap(try s.nextDelivery(now: 0))
        s.finished(deliveryID: delivery.id, outcome: .siteFailed(failure), now: 1)
        XCTAssertEqual(s.destination("smtp", "example.com")?.state, "throttled")
        // A message loaded by a flush (FLUSH_EACH) revives the site it needs.
        try s.add(queueID: "B", options: MessageOptions(flushEach: true), batch: batch(recipients(1)), now: 2)
        XCTAssertEqual(s.destination("smtp", "example.com")?.state, "ready")
        XCTAssertEqual(s.destination("smtp", "example.com")?.todo, 1)
        // The F trigger revives everything.
        let next = try XCTUnwrap(try s.nextDelivery(now: 2))
        s.finished(deliveryID: next.id, outcome: .siteFailed(failure), now: 3)
        XCTAssertEqual(s.destination("smtp", "example.com")?.state, "throttled")
        s.enableAll(now: 4)
        XCTAssertNil(s.destination("smtp", "example.com"), "revived, empty, forgotten")
    }

    func testConnectionCacheFlagsForBackToBackDeliveries() throws {
        let s = try makeScheduler(["smtp_destination_recipient_limit": "1"])
        try s.add(queueID: "A", batch: batch(recipients(3)), now: 0)
        let first = try XCTUnwrap(try s.nextDelivery(now: 0))
        XCTAssertEqual(first.flags, 0)
        s.finished(deliveryID: first.id, outcome: .delivered, now: 10)
        // The previous delivery ended within the last second: load and store.
        let second = try XCTUnwrap(try s.nextDelivery(now: 10.5))
        XCTAssertEqual(second.flags, DeliveryFlags.connectionLoad | DeliveryFlags.connectionStore)
        s.finished(deliveryID: second.id, outcome: .delivered, now: 11)
        // Neither concurrent nor back to back: stop storing, keep loading.
        let third = try XCTUnwrap(try s.nextDelivery(now: 30))
        XCTAssertEqual(third.flags, DeliveryFlags.connectionLoad)
    }
}
