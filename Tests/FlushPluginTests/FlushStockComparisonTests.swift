// FlushStockComparisonTests.swift - our flush plugin next to stock flush(8)
// (a verified stock instance: stock master, stock daemons), same settings,
// same submissions:
// - the fast-flush logs on disk: same file names (one per eligible
//   destination, case folded, "." as "_"), same owner and mode, same
//   format: each deferral smtp(8) logged for the destination is one
//   "<queue id>\n" line, nothing else;
// - the answers to the same raw requests byte for byte (protocol
//   announcement and status): a site outside fast_flush_domains (DENY), a
//   site stock cannot name a log after (DENY), bad and missing queue IDs
//   and malformed lists (BAD), an unknown request (no answer), send_file
//   of a message that is not queued, the master's wakeup, refresh;
// - an `add` for a destination in upper case lands in the same log on both;
// - purge sends every log at once: the logged mail is tried again and
//   logged again on both, the made-up queue ID is dropped;
// - the flush servers log the same warnings;
// - an add waits while another process holds the log's flock(2) lock, then
//   appends (stock's internal lock, so that stock tools and ours agree).
import Foundation
import XCTest
import MailQueue
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class FlushStockComparisonTests: FlushPluginTestCase {
    func testLogsAndAnswersAsStockFlush() throws {
        let names = ["a.example", "b.example", "c.example"]
        let eligible = ["a.example", "b.example", "[127.0.0.1]"]
        let ours = try startPluginInstance(deferringParameters(try Destinations(names), fastFlushDomains: eligible))
        let stock = try startStockInstance(deferringParameters(try Destinations(names), fastFlushDomains: eligible),
                                           masterCf: ["flush/unix/chroot = y"])
        for inst in [ours, stock] {
            for rcpt in ["u0@a.example", "u1@A.Example", "u2@b.example", "u3@c.example"] { try submit(inst, to: rcpt) }
        }
        for inst in [ours, stock] {
            XCTAssertTrue(waitDeferred(inst, count: 4, domains: names), "not all mail deferred in \(inst.dir)")
        }
        try assertPluginFlush(ours)
        XCTAssertEqual(flushLogNames(ours), ["a_example", "b_example"])
        XCTAssertEqual(flushLogNames(ours), flushLogNames(stock))
        for log in flushLogNames(stock) {
            let domain = log.replacingOccurrences(of: "_", with: ".")
            for inst in [ours, stock] {
                XCTAssertTrue(waitUntil(timeout: 10) { loggedIDs(inst, log) == loggedDeferrals(inst, domain: domain) },
                              "\(inst.dir)/queue/flush/\(log): \(flushLog(inst, log) ?? "absent")")
                let content = flushLog(inst, log) ?? ""
                XCTAssertNotNil(content.range(of: #"^([0-9A-F]+\n)+$"#, options: .regularExpression), content)
            }
            XCTAssertEqual(flushLog(ours, log)?.split(separator: "\n").count, flushLog(stock, log)?.split(separator: "\n").count)
            XCTAssertEqual(try ownerAndMode(ours, "flush/" + log), try ownerAndMode(stock, "flush/" + log))
        }

        let requests: [(String, [String])] = [
            ("site not in fast_flush_domains", ["request", "send_site", "site", "c.example"]),
            ("site without a log name", ["request", "send_site", "site", "[127.0.0.1]"]),
            ("add for a site not in fast_flush_domains", ["request", "add", "site", "c.example", "queue_id", "ABC123"]),
            ("add with a bad queue ID", ["request", "add", "site", "a.example", "queue_id", "bad-id"]),
            ("add without a queue ID", ["request", "add", "site", "a.example"]),
            ("send_site with an extra attribute", ["request", "send_site", "site", "c.example", "extra", "x"]),
            ("send_file of a message not queued", ["request", "send_file", "queue_id", "ABCDEF0123"]),
            ("send_file with a bad queue ID", ["request", "send_file", "queue_id", "../x"]),
            ("no request attribute first", ["site", "a.example", "request", "rfrsh"]),
            ("unknown request", ["request", "frobnicate"]),
            ("refresh", ["request", "rfrsh"]),
        ]
        for (what, attributes) in requests {
            let bytes = Array((attributes.joined(separator: "\0") + "\0\0").utf8)
            XCTAssertEqual(try exchange(ours, bytes), try exchange(stock, bytes), what)
        }
        XCTAssertEqual(try exchange(ours, Array("W\0".utf8)), try exchange(stock, Array("W\0".utf8)), "the master's wakeup")
        XCTAssertEqual(try exchange(ours, Array("W\0".utf8)), "protocol\0queue_flush_protocol\0\0status\00\0\0")

        let add = Array("request\0add\0site\0A.EXAMPLE\0queue_id\0ABCDEF0123\0\0".utf8)
        XCTAssertEqual(try exchange(ours, add), try exchange(stock, add), "add in upper case")
        for inst in [ours, stock] {
            XCTAssertEqual(flushLog(inst, "a_example")?.split(separator: "\n").last, "ABCDEF0123", inst.dir)
        }

        // purge: every non-empty log unread for a second is sent (no "F"):
        // the listed mail is tried again, deferred again and logged again,
        // and the made-up queue ID is gone.
        Thread.sleep(forTimeInterval: 1.1)   // reading the logs above set their atime (relatime)
        let before = [ours, stock].map { inst in names.map { deferralLines(inst, domain: $0).count } }
        let purge = Array("request\0purge\0\0".utf8)
        XCTAssertEqual(try exchange(ours, purge), try exchange(stock, purge), "purge")
        for (inst, counts) in zip([ours, stock], before) {
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
                deferralLines(inst, domain: "a.example").count == 2 * counts[0]
                    && deferralLines(inst, domain: "b.example").count == 2 * counts[1]
                    && loggedIDs(inst, "a_example") == loggedDeferrals(inst, domain: "a.example")
                    && loggedIDs(inst, "b_example") == loggedDeferrals(inst, domain: "b.example")
            }, "\(inst.dir): purge did not send both logs\n\(inst.logTail(20))")
            XCTAssertEqual(deferralLines(inst, domain: "c.example").count, counts[2], "c.example has no log to send")
        }

        // Log lines arrive through postlogd: wait until each side logged the four expected warnings.
        let expectedWarnings = 4
        waitUntil(timeout: 15, interval: 0.2) { [ours, stock].allSatisfy { warnings($0).count >= expectedWarnings } }
        XCTAssertEqual(warnings(ours).count, expectedWarnings, "\(warnings(ours))")
        XCTAssertEqual(warnings(ours), warnings(stock), "the flush servers' warnings")

        // The log lock: an add waits while someone else holds flock(2) on the log.
        let addB = Array("request\0add\0site\0b.example\0queue_id\0ABCDEF0456\0\0".utf8)
        for inst in [ours, stock] {
            let fd = open(inst.queue + "/flush/b_example", O_RDWR)
            XCTAssertGreaterThanOrEqual(fd, 0)
            XCTAssertEqual(flock(fd, LOCK_EX), 0)
            let answered = DispatchSemaphore(value: 0)
            let answer = AnswerBox()
            DispatchQueue.global().async {
                answer.text = try? self.exchange(inst, addB)
                answered.signal()
            }
            XCTAssertEqual(answered.wait(timeout: .now() + 1.5), .timedOut, "\(inst.dir): the add must wait for the lock")
            flock(fd, LOCK_UN)
            close(fd)
            XCTAssertEqual(answered.wait(timeout: .now() + 30), .success)
            XCTAssertEqual(answer.text, "protocol\0queue_flush_protocol\0\0status\00\0\0")
            XCTAssertEqual(flushLog(inst, "b_example")?.split(separator: "\n").last, "ABCDEF0456")
        }
    }

    /// One connection to public/flush: `request` sent, everything the server
    /// writes until it closes (the announcement, then the answer, if any).
    private func exchange(_ inst: PrivateInstance, _ request: [UInt8]) throws -> String {
        let fd = try XCTUnwrap(UnixSocket.connect(inst.queue + "/public/flush"), "connect \(inst.queue)/public/flush")
        defer { close(fd) }
        XCTAssertEqual(write(fd, request, request.count), request.count)
        return UnixSocket.readToEnd(fd, timeout: 30)
    }

    private func ownerAndMode(_ inst: PrivateInstance, _ path: String) throws -> String {
        let a = try FileManager.default.attributesOfItem(atPath: inst.queue + "/" + path)
        return "\(a[.ownerAccountName] ?? "?") \(a[.groupOwnerAccountName] ?? "?") \(String(a[.posixPermissions] as? Int ?? -1, radix: 8))"
    }

    /// The flush server's warnings, without time stamps and process IDs.
    private func warnings(_ inst: PrivateInstance) -> [String] {
        inst.logLines(containing: "postfix/flush[").filter { $0.contains("warning:") }.map {
            String($0[$0.range(of: "warning:")!.lowerBound...])
        }
    }
}

/// The answer a background exchange got, read after its semaphore.
private final class AnswerBox: @unchecked Sendable {
    var text: String?
}
