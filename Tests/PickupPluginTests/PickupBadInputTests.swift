// PickupBadInputTests.swift - damaged and unusual maildrop files, the same
// set through stock pickup and through ours (each on its own instance): a
// file unreadable to pickup (bad owner), truncated records, a missing end,
// a record type the envelope may not hold, a record over
// line_length_limit, garbage, no sender, no recipient (cleanup refuses),
// a file still being written, a name that is no queue ID, a directory,
// requeued mail (postsuper -r: orig_id) and mail queued for days. The same
// files stay in maildrop, the same messages arrive, the pickup and cleanup
// log lines are the same (queue IDs and dates aside), and the service runs
// on: a message dropped afterwards is delivered by the same process.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PickupBadInputTests: PickupTestCase {
    struct Result {
        var left: [String] = []          // cases whose file is still in maildrop
        var delivered: [String] = []     // Subject tokens delivered
        var lines: Set<String> = []      // normalised pickup and cleanup lines
    }

    static func cases() -> [(String, MaildropFile, uid_t, mode_t)] {
        let postfixUID = getpwnam("postfix")?.pointee.pw_uid ?? 0
        let nobodyUID = getpwnam("nobody")?.pointee.pw_uid ?? 65534
        var list: [(String, MaildropFile, uid_t, mode_t)] = []
        list.append(("good", .message(subject: "bad0"), 0, 0o744))
        list.append(("badowner", .message(subject: "bad1"), nobodyUID, 0o700))
        list.append(("notready", .message(subject: "bad2"), 0, 0o600))
        list.append(("requeued", .message(subject: "bad3"), postfixUID, 0o700))

        var truncated = MaildropFile.message(subject: "bad4")
        truncated.records.removeLast(2)                  // no X, no E: EOF in the content
        list.append(("noend", truncated, 0, 0o744))

        var badType = MaildropFile.message(subject: "bad5")
        badType.records.insert(("P", Array("5".utf8)), at: 3)   // priority: not an envelope record
        list.append(("badtype", badType, 0, 0o744))

        var tooLong = MaildropFile.message(subject: "bad6")
        tooLong.records.insert(("N", Array(repeating: UInt8(ascii: "x"), count: 3000)), at: 8)
        list.append(("toolong", tooLong, 0, 0o744))

        var noSender = MaildropFile.message(subject: "bad7")
        noSender.records.removeAll { $0.0 == "S" }
        list.append(("nosender", noSender, 0, 0o744))

        var noRecipient = MaildropFile.message(subject: "bad8")
        noRecipient.records.removeAll { $0.0 == "R" }
        list.append(("norecipient", noRecipient, 0, 0o744))

        var forbiddenExtracted = MaildropFile.message(subject: "bad9")
        forbiddenExtracted.records.insert(("M", []), at: forbiddenExtracted.records.count - 1)
        list.append(("badextracted", forbiddenExtracted, 0, 0o744))
        return list
    }

    func run(_ variant: PickupVariant) throws -> Result {
        // Dropped while pickup runs (readable names: postsuper's start-up
        // check would rename them).
        let inst = try pickupInstance(variant)
        let worker = try XCTUnwrap(pickupWorker(inst))
        let mark = inst.logMark()
        var names: [String: String] = [:]
        for (what, file, uid, mode) in Self.cases() {
            names[try drop(file, into: inst, name: what.uppercased(), uid: uid, mode: mode)] = what
        }
        let full = MaildropFile.message(subject: "bad10").bytes
        names[try dropBytes(Array(full.prefix(full.count - 20)), into: inst, name: "TRUNCATED")] = "truncated"
        names[try dropBytes((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }, into: inst,
                            name: "GARBAGE")] = "garbage"
        names[try drop(.message(subject: "bad11"), into: inst, name: "OLD", mtime: time(nil) - 3 * 86400 - 600)] = "old"
        _ = FileManager.default.createFile(atPath: inst.queue + "/maildrop/not-a-queue-id", contents: Data("x".utf8))
        mkdir(inst.queue + "/maildrop/ABCDEF0123", 0o700)
        wakePickup(inst)
        // good, requeued, old arrive; the rest is removed or left.
        let leftAlone: Set = ["badowner", "notready"]
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.1) {
            self.deliveredCount(inst) == 3 && Set(self.maildropNames(inst).compactMap { names[$0] }) == leftAlone
        }, "\(variant): delivered \(deliveredCount(inst)), maildrop \(maildropNames(inst).map { names[$0] ?? $0 })")

        // The service runs on: the same process takes the next message.
        try drop(.message(subject: "bad12"), into: inst)
        wakePickup(inst)
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.1) { self.deliveredCount(inst) == 4 }, "\(variant): after the bad files")
        XCTAssertEqual(pickupWorker(inst), worker, "\(variant): the pickup process changed")

        var result = Result()
        result.left = maildropNames(inst).map { names[$0] ?? $0 }.sorted()
        result.delivered = copiesPerToken(inst, prefix: "bad").keys.sorted()
        result.lines = Set(serviceLines(inst, since: mark).map { line in
            var l = line
            for (name, what) in names {
                l = l.replacingOccurrences(of: "\\b\(name)\\b", with: "<\(what)>", options: .regularExpression)
            }
            return Self.normalized(l, instance: inst)
        })
        inst.destroy()
        return result
    }

    func testBadMaildropFilesHandledAsStock() throws {
        let stock = try run(.stock)
        let ours = try run(.plugin)
        XCTAssertEqual(stock.left, ["ABCDEF0123", "badowner", "not-a-queue-id", "notready"])
        XCTAssertEqual(ours.left, stock.left)
        XCTAssertEqual(stock.delivered, ["bad0", "bad11", "bad12", "bad3"])
        XCTAssertEqual(ours.delivered, stock.delivered)
        let missing = stock.lines.subtracting(ours.lines).sorted()
        let extra = ours.lines.subtracting(stock.lines).sorted()
        XCTAssertEqual(missing, [], "stock's lines that ours lacks")
        XCTAssertEqual(extra, [], "our lines that stock lacks")
        print("pickup and cleanup lines for the bad files (ours = stock):\n" + ours.lines.sorted().joined(separator: "\n"))
        XCTAssertTrue(ours.lines.contains { $0.contains("unexpected or malformed record type") }, "\(ours.lines.sorted())")
    }
}
