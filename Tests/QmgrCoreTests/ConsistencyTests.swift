// ConsistencyTests: long pseudo-random sequences of the calls the qmgr plugin
// makes (loads, agent connections, every reply outcome, failed connections,
// timers, flushes, messages read in batches), checking after each call what must always hold: no
// selection exceeds a destination's window, the recipient counters match the
// entries, and in the end every message finishes and leaves.
import XCTest
import MailQueue
@testable import QmgrCore

final class ConsistencyTests: XCTestCase {
    func testRandomCallSequencesKeepTheStateConsistentAndFinishEveryMessage() throws {
        for seed in [1, 7, 42] as [UInt64] { try run(seed: seed, steps: 4000) }
    }

    func testAddingAQueueIDTwiceIsRefused() throws {
        let s = try makeScheduler()
        XCTAssertTrue(try s.add(queueID: "A", batch: batch(recipients(1)), now: 0))
        XCTAssertFalse(try s.add(queueID: "A", batch: batch(recipients(5)), now: 0))
        XCTAssertEqual(s.snapshot(now: 0).recipients, 1)
    }

    private func run(seed start: UInt64, steps: Int) throws {
        let s = try makeScheduler(["smtp_destination_recipient_limit": "3", "qmgr_message_active_limit": "12",
                                   "relay_destination_rate_delay": "2s", "smtp_mailhost_destination_rate_limit": "5/3s",
                                   "lmtp_transport_rate_delay": "1s", "initial_destination_concurrency": "2",
                                   "default_destination_concurrency_failed_cohort_limit": "2"])
        var state = start
        func roll(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let transports = ["smtp", "relay", "local", "lmtp"]
        let outcomes: [Reply] = [
            .delivered, .delivered, .someDeferred, .agentCrashed, .doneWithSiteReason,
            .siteFailed(SiteStatus(status: "4.4.1", reason: "refused")),
            .requestFailed,
        ]
        var busy: [Delivery] = []
        var now = 0.0
        var serial = 0
        // Recipients still "in the file" of messages read in batches.
        var unread: [String: [Assignment]] = [:]
        let reader: RecipientReader = { id, limit in
            let taken = Array((unread[id] ?? []).prefix(limit))
            unread[id]?.removeFirst(taken.count)
            let left = unread[id]?.count ?? 0
            return RecipientBatch(assignments: taken, hasMore: left > 0, unreadEstimate: left)
        }
        func handleEvents() throws {
            for case .messageIdle(let id, _, let hasMore) in s.takeEvents() {
                if hasMore {
                    try s.continueMessage(queueID: id, batch: reader(id, s.readLimit(queueID: id)), now: now)
                } else {
                    XCTAssertTrue(s.removeMessage(queueID: id))
                }
            }
        }
        func select() throws {
            guard let delivery = try s.nextDelivery(now: now, readMore: reader) else { return }
            let destination = s.destination(delivery.transport, delivery.queueName.description, now: now)
            XCTAssertLessThanOrEqual(destination?.busy ?? 0, max(destination?.window ?? 0, 1))
            busy.append(delivery)
        }
        for _ in 0..<steps {
            now += Double(roll(3)) * 0.5
            switch roll(7) {
            case 0:
                guard s.admissionLimit() != nil else { break }
                serial += 1
                let assignments = (0..<(1 + roll(8))).flatMap { _ in
                    recipients(1 + roll(4), transport: transports[roll(4)], nexthop: "d\(roll(4)).example",
                               firstOffset: 100 * serial + roll(100))
                }
                let id = "Q\(serial)"
                unread[id] = assignments
                let first = reader(id, roll(3) == 0 ? 1 + roll(assignments.count) : assignments.count)
                try s.add(queueID: id, options: MessageOptions(oneRecipientPerEntry: roll(5) == 0), batch: first, now: now)
            case 1, 2:
                try select()
            case 3:
                guard !busy.isEmpty else { break }
                let delivery = busy.remove(at: roll(busy.count))
                s.finished(deliveryID: delivery.id, outcome: outcomes[roll(outcomes.count)], now: now)
            case 4:
                if let name = s.nextConnection(now: now) { s.connectionFailed(transport: name, now: now) }
            case 5:
                if roll(10) == 0 { s.enableAll(now: now) } else { s.tick(now: now) }
            default:
                if let due = s.nextWakeup(), due <= now { s.tick(now: now) }
            }
            try handleEvents()
            let snapshot = s.snapshot(now: now)
            let inEntries = snapshot.transports.flatMap(\.destinations).reduce(0) { $0 + $1.todoRecipients }
                + busy.reduce(0) { $0 + $1.recipients.count }
            XCTAssertEqual(snapshot.recipients, inEntries, "seed \(start)")
            XCTAssertLessThanOrEqual(snapshot.messages, 12)
        }
        // Wind down: every reply succeeds, time passes, everything leaves.
        for round in 0..<10_000 where s.messageCount > 0 {
            now += 1
            for delivery in busy { s.finished(deliveryID: delivery.id, outcome: .delivered, now: now) }
            busy.removeAll()
            if round % 50 == 0 { s.enableAll(now: now) }
            s.tick(now: now)
            while let delivery = try s.nextDelivery(now: now, readMore: reader) { busy.append(delivery) }
            try handleEvents()
        }
        XCTAssertEqual(s.messageCount, 0, "seed \(start): every message finished")
        XCTAssertEqual(s.snapshot(now: now).recipients, 0)
        XCTAssertTrue(unread.values.allSatisfy(\.isEmpty), "seed \(start): every recipient read")
    }
}
