// PickupCrashTests.swift - the pickup process is SIGKILLed three times while
// it works through a 2,000-message maildrop, under stock pickup and under
// ours (same files, same kill points): every message arrives; duplicates
// (a kill between cleanup's commit and the unlink) are counted, printed and
// held to at most one per kill for both.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PickupCrashTests: PickupTestCase {
    struct Outcome {
        var kills = 0
        var missing = 0
        var duplicates = 0
    }

    static let messages = 2000
    /// A kill each time maildrop has shrunk to these many files.
    static let killPoints = [1700, 1300, 900]

    func run(_ variant: PickupVariant) throws -> Outcome {
        // A process killed before it finished its first request (use count 0)
        // makes the master, ours as stock's, throttle the service for
        // service_throttle_time (60s by default): keep that short here.
        let inst = try pickupInstance(variant, parameters: ["service_throttle_time=1s"], start: false)
        for i in 0..<Self.messages {
            try drop(.message(subject: "kill\(i)"), into: inst)
        }
        try startAndCheck(inst, variant)
        var outcome = Outcome()
        let started = Date()
        for point in Self.killPoints {
            XCTAssertTrue(waitUntil(timeout: 120, interval: 0.02) { self.maildropNames(inst).count <= point },
                          "\(variant): maildrop never shrank to \(point)")
            if let pid = pickupWorker(inst, timeout: 10), kill(pid, SIGKILL) == 0 { outcome.kills += 1 }
            print("\(variant): kill at \(point) after \(Int(Date().timeIntervalSince(started)))s")
        }
        XCTAssertTrue(waitUntil(timeout: 300, interval: 0.2) {
            self.maildropNames(inst).isEmpty && inst.queuedFiles().isEmpty
        }, "\(variant): \(maildropNames(inst).count) files left in maildrop, \(inst.queuedFiles().count) queued")
        print("\(variant): all delivered after \(Int(Date().timeIntervalSince(started)))s")
        let copies = copiesPerToken(inst, prefix: "kill")
        outcome.missing = Self.messages - copies.count
        outcome.duplicates = copies.values.reduce(0, +) - copies.count
        inst.destroy()
        return outcome
    }

    func testSigkillDuringLargeMaildropLosesNothing() throws {
        let stock = try run(.stock)
        let ours = try run(.plugin)
        print("pickup SIGKILL, \(Self.messages) messages: stock kills=\(stock.kills) missing=\(stock.missing) "
              + "duplicates=\(stock.duplicates); ours kills=\(ours.kills) missing=\(ours.missing) duplicates=\(ours.duplicates)")
        XCTAssertEqual(stock.missing, 0, "stock lost messages")
        XCTAssertEqual(ours.missing, 0, "our pickup lost messages")
        XCTAssertEqual(ours.kills, Self.killPoints.count, "every kill must hit a running pickup")
        XCTAssertLessThanOrEqual(ours.duplicates, ours.kills, "at most one duplicate per kill")
        XCTAssertLessThanOrEqual(stock.duplicates, stock.kills)
    }
}
