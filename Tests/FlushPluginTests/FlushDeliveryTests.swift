// FlushDeliveryTests.swift - the fast-flush service as a plugin with stock
// daemons around it (stock smtpd, smtp, qmgr, postqueue, sendmail): mail for
// four destinations defers (nothing listens), smtp(8) logs each deferral
// with our flush server, then sinks listen on every destination and
// - SMTP ETRN (through stock smtpd) delivers exactly a.example's mail,
// - `postqueue -s b.example` exactly b.example's,
// - `sendmail -qRc.example` exactly c.example's,
// - ETRN for d.example, which is not in fast_flush_domains, is refused with
//   stock's 459 and its mail stays deferred, until `postqueue -i <id>`
//   (send_file) delivers that one message;
// and each flushed log is truncated, the others left as they were; once
// with stock qmgr, once with our qmgr plugin.
import Foundation
import XCTest
import MailQueue
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class FlushDeliveryTests: FlushPluginTestCase {
    func testETRNPostqueueAndSendmailEachDeliverOnlyTheirDestination() throws {
        try flushEachDestination(ourQmgr: false, domainsFromFile: false)
    }

    /// The same with our qmgr plugin taking the flush server's "F" and "I"
    /// triggers, and fast_flush_domains as a /file pattern outside the
    /// flush server's chroot (read before the chroot, as stock).
    func testWithOurQmgrPluginAndDomainsFromAFile() throws {
        try flushEachDestination(ourQmgr: true, domainsFromFile: true)
    }

    private func flushEachDestination(ourQmgr: Bool, domainsFromFile: Bool) throws {
        let names = ["a.example", "b.example", "c.example", "d.example"]
        let destinations = try Destinations(names)
        let eligible = ["a.example", "b.example", "c.example"]
        var parameters = deferringParameters(destinations, fastFlushDomains: eligible)
        if domainsFromFile {
            let file = NSTemporaryDirectory() + "flush-domains-\(getpid())-\(destinations.ports["a.example"]!)"
            try ("# eligible\n" + eligible.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o644)
            addTeardownBlock { try? FileManager.default.removeItem(atPath: file) }
            parameters["fast_flush_domains"] = file
        }
        let inst = try startPluginInstance(parameters, ourQmgr: ourQmgr)
        let perDomain = ["a.example": 2, "b.example": 2, "c.example": 1, "d.example": 1]
        for (domain, count) in perDomain.sorted(by: { $0.key < $1.key }) {
            for i in 0..<count { try submit(inst, to: "user\(i)@\(domain)") }
        }
        XCTAssertTrue(waitDeferred(inst, count: 6, domains: names), "not all mail deferred:\n\(inst.logTail(40))")
        try assertPluginFlush(inst)
        XCTAssertEqual(flushLogNames(inst), ["a_example", "b_example", "c_example"], "one log per eligible destination")
        for domain in ["a.example", "b.example", "c.example"] {
            let log = domain.replacingOccurrences(of: ".", with: "_")
            XCTAssertTrue(waitUntil(timeout: 10) { loggedIDs(inst, log) == loggedDeferrals(inst, domain: domain) },
                          "flush/\(log) must list exactly \(domain)'s deferred queue IDs: \(flushLog(inst, log) ?? "absent")")
        }
        var sinks: [String: ScriptedSink] = [:]
        for name in names { sinks[name] = try startSink(port: destinations.ports[name]!) }

        // ETRN through stock smtpd.
        let session = try SMTPSession(port: inst.smtpPort)
        defer { session.close() }
        try session.expect("220", after: nil)
        try session.expect("250", after: "EHLO client.example")
        try session.expect("250", after: "ETRN a.example")
        try assertDelivered(inst, sinks, only: "a.example", count: 2, remaining: 4)

        try session.expect("459", after: "ETRN d.example")
        XCTAssertNotNil(inst.waitForLog("reject: ETRN d.example... from", timeout: 10))
        try session.expect("221", after: "QUIT")

        let postqueue = try runCommand("/usr/sbin/postqueue", ["-c", inst.etc, "-s", "b.example"],
                                       env: ["MAIL_CONFIG": inst.etc], timeout: 60)
        XCTAssertEqual(postqueue.status, 0, "postqueue -s: \(postqueue.output)")
        try assertDelivered(inst, sinks, only: "b.example", count: 2, remaining: 2)

        let sendmail = try runCommand("/usr/sbin/sendmail", ["-C", inst.etc, "-qRc.example"],
                                      env: ["MAIL_CONFIG": inst.etc], timeout: 60)
        XCTAssertEqual(sendmail.status, 0, "sendmail -qR: \(sendmail.output)")
        try assertDelivered(inst, sinks, only: "c.example", count: 1, remaining: 1)

        XCTAssertEqual(sinks["d.example"]!.messages.count, 0, "d.example is not eligible: nothing flushes it")
        XCTAssertEqual(deferredIDs(inst), loggedDeferrals(inst, domain: "d.example"))

        // postqueue -i: one message by queue ID, whatever its destination.
        let id = try XCTUnwrap(deferredIDs(inst).first)
        let one = try runCommand("/usr/sbin/postqueue", ["-c", inst.etc, "-i", id], env: ["MAIL_CONFIG": inst.etc], timeout: 60)
        XCTAssertEqual(one.status, 0, "postqueue -i: \(one.output)")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { sinks["d.example"]!.messages.count == 1 && deferredIDs(inst).isEmpty },
                      "postqueue -i \(id) did not deliver it\n\(inst.logTail(20))")
        for log in ["a_example", "b_example", "c_example"] {
            XCTAssertEqual(flushLog(inst, log), "", "flush/\(log) is truncated after its send")
        }
        XCTAssertEqual(inst.logLines(containing: "postfix/flush[").filter { $0.contains("warning") || $0.contains("fatal") }, [])
    }

    /// Waits until `domain`'s sink has `count` messages, then checks that no
    /// other sink got anything new and `remaining` messages are still deferred.
    private func assertDelivered(_ inst: PrivateInstance, _ sinks: [String: ScriptedSink], only domain: String, count: Int,
                                 remaining: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let sink = try XCTUnwrap(sinks[domain])
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { sink.messages.count >= count },
                      "\(domain): \(sink.messages.count) of \(count) delivered\n\(inst.logTail(30))", file: file, line: line)
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) { deferredIDs(inst).count == remaining },
                      "\(remaining) should stay deferred: \(deferredIDs(inst))", file: file, line: line)
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(sink.messages.count, count, "\(domain) got its mail once", file: file, line: line)
        XCTAssertTrue(sink.deliveredRecipients.allSatisfy { $0.hasSuffix("@" + domain) }, file: file, line: line)
        var delivered = 0
        for (name, other) in sinks where name != domain { delivered += other.messages.count }
        let expectedElsewhere = sinks.filter { $0.key < domain && $0.key != "d.example" }.map { $0.value.messages.count }.reduce(0, +)
        XCTAssertEqual(delivered, expectedElsewhere, "no other destination got mail from \(domain)'s flush", file: file, line: line)
    }
}
