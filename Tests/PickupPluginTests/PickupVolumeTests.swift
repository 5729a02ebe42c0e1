// PickupVolumeTests.swift - 1,000 messages dropped into maildrop while our
// pickup runs, then 1,000 dropped while the master is stopped (picked up
// when it starts): every message is delivered exactly once and maildrop
// ends empty.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PickupVolumeTests: PickupTestCase {
    func testDroppedWhileRunningAndWhileStoppedArriveOnce() throws {
        let perPhase = 1000
        let inst = try pickupInstance(.plugin)
        for i in 0..<perPhase {
            try drop(.message(subject: "run\(i)"), into: inst)
        }
        wakePickup(inst)
        XCTAssertTrue(waitUntil(timeout: 240, interval: 0.2) { self.deliveredCount(inst) >= perPhase },
                      "delivered \(deliveredCount(inst)) of \(perPhase) dropped while running")

        _ = try inst.postfix("stop")
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.1) { inst.masterPid() == nil }, "master did not stop")
        for i in 0..<perPhase {
            try drop(.message(subject: "stop\(i)"), into: inst)
        }
        try startAndCheck(inst, .plugin)
        XCTAssertTrue(waitUntil(timeout: 240, interval: 0.2) { self.deliveredCount(inst) >= 2 * perPhase },
                      "delivered \(deliveredCount(inst)) of \(2 * perPhase)")

        for prefix in ["run", "stop"] {
            let copies = copiesPerToken(inst, prefix: prefix)
            XCTAssertEqual(copies.count, perPhase, "\(prefix): distinct messages delivered")
            XCTAssertEqual(copies.filter { $0.value != 1 }, [:], "\(prefix): messages not delivered exactly once")
        }
        // pickup removes a file once cleanup has answered, which may come after its delivery.
        XCTAssertTrue(waitUntil(timeout: 30) { self.maildropNames(inst).isEmpty }, "maildrop must end empty: \(maildropNames(inst))")
    }
}
