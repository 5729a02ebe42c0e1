// PreemptionTests: the preemptive job scheduler (reference 5.11;
// src/qmgr/qmgr_job.c, proto/SCHEDULER_README.html). With stock's defaults
// (slot cost 5, loan 3, discount 50, minimum slots 3) a big job earns one
// slot per delivery; a small job preempts it once slots/cost + loan ≥
// entries × 50%, and the big job then pays cost × entries slots back.
import XCTest
import MailQueue
@testable import QmgrCore

final class PreemptionTests: XCTestCase {
    /// One entry per recipient; every delivery ends before the next starts.
    func order(_ s: Scheduler, steps: Int, from start: Double) throws -> [String] {
        var ids: [String] = []
        for i in 0..<steps {
            let now = start + Double(i) * 0.01
            guard let delivery = try s.nextDelivery(now: now) else { break }
            ids.append(delivery.queueID)
            s.finished(deliveryID: delivery.id, outcome: .delivered, now: now)
        }
        return ids
    }

    func scheduler(_ extra: [String: String] = [:]) throws -> Scheduler {
        try makeScheduler(["smtp_destination_recipient_limit": "1"].merging(extra) { $1 })
    }

    func testSmallJobPreemptsABigOneAndTheBigOnePaysItBack() throws {
        let s = try scheduler()
        try s.add(queueID: "BIG", batch: batch(recipients(100, nexthop: "big.example")), now: 0)
        try s.add(queueID: "B", batch: batch(recipients(2, nexthop: "b.example")), now: 1)
        // BIG earns one slot, then B (2 entries: 1/5 + 3 ≥ 2 × 0.5) goes in front.
        XCTAssertEqual(try order(s, steps: 3, from: 2), ["BIG", "B", "B"])
        // BIG was charged 2 × 5 slots: it is at −9 and must earn 10 more first.
        XCTAssertEqual(s.transportState("smtp")?.jobs.first?.slotsAvailable, -9)
        try s.add(queueID: "C", batch: batch(recipients(2, nexthop: "c.example")), now: 3)
        XCTAssertEqual(try order(s, steps: 13, from: 4), Array(repeating: "BIG", count: 10) + ["C", "C", "BIG"])
    }

    func testPreemptionShowsInTheSnapshotStack() throws {
        let s = try scheduler()
        try s.add(queueID: "BIG", batch: batch(recipients(100, nexthop: "big.example")), now: 0)
        try s.add(queueID: "B", batch: batch(recipients(2, nexthop: "b.example")), now: 1)
        _ = try order(s, steps: 1, from: 2)
        let delivery = try XCTUnwrap(try s.nextDelivery(now: 3))
        XCTAssertEqual(delivery.queueID, "B")
        let jobs = try XCTUnwrap(s.transportState("smtp")?.jobs)
        XCTAssertEqual(jobs.map(\.queueID), ["B", "BIG"])
        XCTAssertEqual(jobs[0].stackLevel, 1)
        XCTAssertEqual(jobs[0].preempts, "BIG")
        XCTAssertTrue(jobs[0].current)
        XCTAssertEqual(jobs[0].slotsUsed, -1)
        XCTAssertEqual(jobs[1].slotsAvailable, 1 - 10)
    }

    func testSlotCostBelowTwoTurnsPreemptionOff() throws {
        let s = try scheduler(["smtp_delivery_slot_cost": "1"])
        try s.add(queueID: "BIG", batch: batch(recipients(20, nexthop: "big.example")), now: 0)
        try s.add(queueID: "B", batch: batch(recipients(2, nexthop: "b.example")), now: 1)
        XCTAssertEqual(try order(s, steps: 22, from: 2), Array(repeating: "BIG", count: 20) + ["B", "B"])
    }

    func testJobsTooSmallToEarnMinimumSlotsAreNotPreempted() throws {
        // 14 entries < minimum slots 3 × cost 5.
        let s = try scheduler()
        try s.add(queueID: "MID", batch: batch(recipients(14, nexthop: "mid.example")), now: 0)
        try s.add(queueID: "B", batch: batch(recipients(1, nexthop: "b.example")), now: 1)
        XCTAssertEqual(try order(s, steps: 15, from: 2), Array(repeating: "MID", count: 14) + ["B"])
    }

    func testDiscountZeroNeedsTheWholeCostEarned() throws {
        // Loan factor 100 and no loan: a 2-entry job needs slots/5 ≥ 2, i.e. 10 slots.
        let s = try scheduler(["smtp_delivery_slot_discount": "0", "smtp_delivery_slot_loan": "0"])
        try s.add(queueID: "BIG", batch: batch(recipients(100, nexthop: "big.example")), now: 0)
        try s.add(queueID: "B", batch: batch(recipients(2, nexthop: "b.example")), now: 1)
        XCTAssertEqual(try order(s, steps: 12, from: 2), Array(repeating: "BIG", count: 10) + ["B", "B"])
    }

    func testBlockedJobLetsTheNextJobDeliver() throws {
        // BIG's only destination is at its window: B's entries go meanwhile.
        let s = try scheduler(["smtp_destination_concurrency_limit": "1", "smtp_delivery_slot_cost": "0"])
        try s.add(queueID: "BIG", batch: batch(recipients(3, nexthop: "big.example")), now: 0)
        try s.add(queueID: "B", batch: batch(recipients(2, nexthop: "b.example")), now: 1)
        let first = try XCTUnwrap(try s.nextDelivery(now: 2))
        let second = try XCTUnwrap(try s.nextDelivery(now: 2))
        XCTAssertEqual([first.queueID, second.queueID], ["BIG", "B"])
        XCTAssertEqual(s.transportState("smtp")?.jobs.first { $0.queueID == "BIG" }?.blocker, true)
        // When BIG's destination frees up, it is considered again.
        s.finished(deliveryID: first.id, outcome: .delivered, now: 3)
        XCTAssertEqual(try s.nextDelivery(now: 3)?.queueID, "BIG")
    }
}
