// PickupComparisonTests.swift - the same sendmail submissions (plain, 8-bit
// body, a header longer than line_length_limit, -f/-F, -N, -V) through
// stock pickup and through ours, each on its own instance: the queue files
// cleanup writes (postcat, held in deferred by defer_transports) and the
// messages local then delivers to the maildir are identical except queue
// IDs and dates.
import Foundation
import XCTest
import TestSupport

final class PickupComparisonTests: PickupTestCase {
    struct Submission {
        let token: String
        let options: [String]
        let message: String
    }

    static let submissions: [Submission] = [
        Submission(token: "cmp1", options: ["-f", "root@localhost"], message: "Subject: cmp1\n\nplain body\n"),
        Submission(token: "cmp2", options: ["-f", "root@localhost"],
                   message: "Subject: cmp2\nContent-Type: text/plain; charset=utf-8\n\nGr\u{FC}\u{DF}e aus K\u{F6}ln \u{2603}\n"),
        Submission(token: "cmp3", options: ["-f", "root@localhost"],
                   message: "Subject: cmp3\nX-Long: " + String(repeating: "0123456789", count: 300) + "\n\nafter a long header\n"),
        Submission(token: "cmp4", options: ["-f", "someone@example.org", "-F", "Some One"],
                   message: "Subject: cmp4\n\nwith -f and -F\n"),
        Submission(token: "cmp5", options: ["-f", "root@localhost", "-N", "success,delay,failure"],
                   message: "Subject: cmp5\n\nwith -N\n"),
        Submission(token: "cmp6", options: ["-f", "root@localhost", "-V", "envid-cmp6"],
                   message: "Subject: cmp6\n\nwith -V\n"),
        Submission(token: "cmp7", options: ["-f", "root@localhost"],
                   message: "Subject: cmp7\n\n leading space\n.\n..dots\n"),
    ]

    /// Per token: postcat of the held queue file, then the delivered message.
    func run(_ variant: PickupVariant) throws -> (queued: [String: String], delivered: [String: String]) {
        let inst = try pickupInstance(variant, parameters: ["defer_transports=local"])
        for s in Self.submissions {
            let r = try runCommand("/usr/sbin/sendmail", ["-C", inst.etc] + s.options + ["nobody"],
                                   env: ["MAIL_CONFIG": inst.etc], stdin: s.message, timeout: 60)
            XCTAssertEqual(r.status, 0, "sendmail \(s.options): \(r.output)")
        }
        let n = Self.submissions.count
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.1) { self.deferredFiles(inst).count == n },
                      "\(variant): \(n) messages not deferred: \(deferredFiles(inst))")
        var queued: [String: String] = [:]
        for path in deferredFiles(inst) {
            let r = try runCommand("/usr/sbin/postcat", ["-c", inst.etc, path], timeout: 30)
            XCTAssertEqual(r.status, 0, r.output)
            let token = try XCTUnwrap(Self.submissions.first { r.output.contains("Subject: \($0.token)\n") }?.token,
                                      "no token in \(r.output)")
            queued[token] = Self.normalized(r.output, instance: inst)
        }
        try postconf(inst, ["-e", "defer_transports="])
        _ = try inst.postfix("reload")
        var lastFlush = Date.distantPast
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.1) {
            // A flush sent while the reloaded qmgr starts can be lost: repeat it.
            if Date().timeIntervalSince(lastFlush) > 2 {
                _ = try? runCommand("/usr/sbin/postqueue", ["-c", inst.etc, "-f"], timeout: 30)
                lastFlush = Date()
            }
            return self.deliveredCount(inst) == n
        },
                      "\(variant): delivered \(deliveredCount(inst)) of \(n)")
        var delivered: [String: String] = [:]
        for text in self.delivered(inst).values {
            let token = try XCTUnwrap(Self.submissions.first { text.contains("Subject: \($0.token)\n") }?.token)
            delivered[token] = Self.normalized(text, instance: inst)
        }
        try assertPickup(inst, try XCTUnwrap(pickupWorker(inst)), is: variant)
        inst.destroy()
        return (queued, delivered)
    }

    /// Equal texts, or the first line that differs.
    func assertSameLines(_ ours: String?, _ stock: String?, _ what: String, line: UInt = #line) {
        let a = (ours ?? "<missing>").split(separator: "\n", omittingEmptySubsequences: false)
        let b = (stock ?? "<missing>").split(separator: "\n", omittingEmptySubsequences: false)
        if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            XCTFail("\(what) differs at line \(i + 1): ours \(a[i].prefix(300)) | stock \(b[i].prefix(300))", line: line)
        } else {
            XCTAssertEqual(a.count, b.count, "\(what): ours has \(a.count) lines, stock \(b.count)", line: line)
        }
    }

    func deferredFiles(_ inst: PrivateInstance) -> [String] {
        let base = inst.queue + "/deferred"
        guard let e = FileManager.default.enumerator(atPath: base) else { return [] }
        return e.compactMap { $0 as? String }.map { base + "/" + $0 }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    func testSendmailSubmissionsQueuedAndDeliveredAsUnderStock() throws {
        let stock = try run(.stock)
        let ours = try run(.plugin)
        XCTAssertEqual(Set(stock.queued.keys), Set(Self.submissions.map(\.token)))
        for s in Self.submissions {
            assertSameLines(ours.queued[s.token], stock.queued[s.token], "postcat of \(s.token)")
            assertSameLines(ours.delivered[s.token], stock.delivered[s.token], "delivered \(s.token)")
        }
        // The long header went through as several records, the -N/-V options as DSN attributes.
        XCTAssertTrue(stock.queued["cmp5"]?.contains("notify_flags") ?? false, stock.queued["cmp5"] ?? "")
        XCTAssertTrue(stock.queued["cmp6"]?.contains("envid-cmp6") ?? false, stock.queued["cmp6"] ?? "")
    }
}
