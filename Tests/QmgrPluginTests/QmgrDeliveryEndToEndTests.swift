// QmgrDeliveryEndToEndTests - our queue manager (Plugins/Qmgr, qmgr.so)
// running a stock Postfix 3.7 mail system: our master, Debian's unchanged
// master.cf (its `qmgr` line resolves to the plugin; the qmgr process is
// checked to be our plugin worker, not stock's executable), stock smtpd,
// cleanup, trivial-rewrite, smtp, local, error, bounce/defer/trace,
// postqueue. Shown: relay delivery with the queue emptied and stock's log
// lines; local delivery; a 4xx recipient deferred (defer log) and delivered
// after `postqueue -f`; a 5xx recipient bounced with a DSN in the sender's
// mailbox; a destination concurrency limit respected at a slow sink;
// start-up recovery of files left in active. Every wait is bounded.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class QmgrDeliveryEndToEndTests: QmgrPluginTestCase {
    /// Relay: N messages through stock smtp to a sink; the queue empties and
    /// each message has stock's "(queue active)" and "removed" lines.
    func testRelayDeliveryEmptiesTheQueue() throws {
        let sink = try makeSink()
        let inst = try startQmgrInstance(relayPort: sink.port)
        let count = 12
        let r = try inst.smtpSource(sessions: 3, messages: count, to: "rcpt@example.com", timeout: 120)
        XCTAssertEqual(r.status, 0, "smtp-source: \(r.output)")
        XCTAssertTrue(waitUntil(timeout: 90, interval: 0.2) { sink.deliveredRecipients.count >= count },
                      "the sink got \(sink.deliveredRecipients.count) of \(count) messages")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
        XCTAssertTrue(waitUntil(timeout: 15) { self.qmgrLines(inst).filter { $0.hasSuffix(": removed") }.count == count })
        XCTAssertEqual(sink.deliveredRecipients.count, count, "each message delivered once")
        let opened = qmgrLines(inst).filter { $0.contains("(queue active)") }
        XCTAssertEqual(opened.count, count)
        for line in opened {
            XCTAssertNotNil(line.range(of: #": [0-9A-F]+: from=<sender@example\.com>, size=\d+, nrcpt=1 \(queue active\)$"#,
                                       options: .regularExpression), line)
        }
        XCTAssertEqual(inst.logLines(containing: "status=sent").count, count)
        try assertPluginQmgr(inst)
    }

    /// Flow control: the qmgr keeps default_process_limit tokens in the
    /// master's flow pipe (cleanup takes one per message, else waits
    /// in_flow_delay), and puts back what submissions take.
    func testFlowPipeHoldsTokensForCleanup() throws {
        let inst = try startQmgrInstance(parameters: ["default_process_limit = 37"])
        let worker = try XCTUnwrap(qmgrWorker(inst))
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { Self.flowTokens(worker) == 37 },
                      "flow pipe holds \(Self.flowTokens(worker) ?? -1) tokens")
        for n in 1...3 { try submit(inst, to: "nobody@localhost", subject: "flow-\(n)") }
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { inst.mailbox("nobody").count == 3 })
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { Self.flowTokens(worker) == 37 },
                      "flow pipe holds \(Self.flowTokens(worker) ?? -1) tokens after delivery")
    }

    /// Bytes waiting in the flow pipe (descriptor 3 of a Postfix daemon).
    static func flowTokens(_ pid: pid_t) -> Int? {
        let fd = open("/proc/\(pid)/fd/3", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var count: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &count) == 0 ? Int(count) : nil
    }

    /// Local delivery through stock local(8) into a maildir.
    func testLocalDeliveryToMaildir() throws {
        let inst = try startQmgrInstance()
        try submit(inst, to: "nobody@localhost", subject: "local-one")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { inst.mailbox("nobody").contains { $0.contains("local-one") } },
                      "nothing in nobody's maildir")
        XCTAssertNotNil(inst.waitForLog("postfix/local[", "to=<nobody@localhost>", "status=sent (delivered to maildir)"))
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
        XCTAssertNotNil(inst.waitForLog("postfix/qmgr[", ": removed", timeout: 15), "no removed line")
    }

    /// A 4xx recipient: deferred with a defer log; once the sink accepts,
    /// stock postqueue -f gets it delivered.
    func testDeferredThenFlushed() throws {
        let later = try makeSink { $0.recipientRules = [.init(suffix: "later@example.com", reply: "450 4.2.0 try again later")] }
        let inst = try startQmgrInstance(relayPort: later.port)
        try submit(inst, to: "later@example.com", subject: "deferred-one")
        XCTAssertNotNil(inst.waitForLog("to=<later@example.com>", "status=deferred", timeout: 60), "no deferral logged")
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) { self.files(inst, in: "deferred").count == 1 },
                      "deferred/: \(files(inst, in: "deferred")), all: \(inst.queuedFiles())")
        XCTAssertEqual(files(inst, in: "defer").count, 1, "a defer log for the message")
        XCTAssertEqual(files(inst, in: "active"), [])
        XCTAssertTrue(later.deliveredRecipients.isEmpty)

        let accepting = try replaceWithAcceptingSink(later)
        let mark = inst.logMark()
        let r = try runCommand(try QmgrPluginEnv.postqueue(), ["-c", inst.etc, "-f"], env: ["MAIL_CONFIG": inst.etc],
                               timeout: 30)
        XCTAssertEqual(r.status, 0, "postqueue -f: \(r.output)")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { accepting.deliveredRecipients == ["later@example.com"] },
                      "after the flush the sink got \(accepting.deliveredRecipients)")
        XCTAssertNotNil(inst.waitForLog("to=<later@example.com>", "status=sent", since: mark, timeout: 30))
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
        XCTAssertTrue(waitUntil(timeout: 10) { self.files(inst, in: "defer").isEmpty }, "defer log left: \(files(inst, in: "defer"))")
    }

    /// A 5xx recipient bounces: the DSN reaches the sender's local mailbox.
    func testRejectedRecipientBouncesToTheSender() throws {
        let sink = try makeSink { $0.recipientRules = [.init(suffix: "reject@example.com", reply: "550 5.1.1 no such user here")] }
        let inst = try startQmgrInstance(relayPort: sink.port)
        try submit(inst, to: "reject@example.com", subject: "bounce-one")
        XCTAssertNotNil(inst.waitForLog("to=<reject@example.com>", "status=bounced", timeout: 60), "no bounce logged")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
            inst.mailbox("root").contains { $0.contains("reject@example.com") && $0.contains("multipart/report") }
        }, "no DSN in root's mailbox")
        XCTAssertNotNil(inst.waitForLog("postfix/bounce[", "sender non-delivery notification", timeout: 10))
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
        XCTAssertTrue(sink.deliveredRecipients.isEmpty)
    }

    /// A slow destination with smtp_destination_concurrency_limit = 3: the
    /// sink never sees more than 3 sessions at once, and more than one.
    func testDestinationConcurrencyLimit() throws {
        let sink = try makeSink { $0.dataDelay = 1.5 }
        let inst = try startQmgrInstance(relayPort: sink.port,
                                         parameters: ["smtp_destination_concurrency_limit = 3"])
        let count = 15
        let r = try inst.smtpSource(sessions: 5, messages: count, to: "rcpt@example.com", timeout: 120)
        XCTAssertEqual(r.status, 0, "smtp-source: \(r.output)")
        XCTAssertTrue(waitUntil(timeout: 120, interval: 0.2) { sink.deliveredRecipients.count >= count },
                      "the sink got \(sink.deliveredRecipients.count) of \(count)")
        XCTAssertLessThanOrEqual(sink.mostConcurrentSessions, 3, "concurrency limit exceeded")
        XCTAssertGreaterThanOrEqual(sink.mostConcurrentSessions, 2, "deliveries were not concurrent at all")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
    }

    /// Files a previous queue manager left in active are delivered after a
    /// restart (start-up recovery moves them back to incoming).
    func testActiveFilesAreDeliveredAfterRestart() throws {
        let sink = try makeSink()
        let inst = try startQmgrInstance(relayPort: sink.port, parameters: ["defer_transports = smtp"])
        try submit(inst, to: "one@example.com", subject: "recover-one")
        try submit(inst, to: "two@example.com", subject: "recover-two")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.files(inst, in: "deferred").count == 2 },
                      "not deferred: \(inst.queuedFiles())")
        inst.stopAll()
        XCTAssertTrue(waitUntil(timeout: 15) { inst.masterPid() == nil })
        for file in files(inst, in: "deferred") {
            let name = (file as NSString).lastPathComponent
            XCTAssertEqual(rename(inst.queue + "/deferred/" + file, inst.queue + "/active/" + name), 0)
        }
        XCTAssertEqual(files(inst, in: "active").count, 2)
        try postconf(inst, ["-X", "defer_transports"])
        let mark = inst.logMark()
        try inst.start()
        try assertPluginQmgr(inst)
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { Set(sink.deliveredRecipients) == ["one@example.com", "two@example.com"] },
                      "after the restart the sink got \(sink.deliveredRecipients)")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
        XCTAssertTrue(waitUntil(timeout: 15) { self.qmgrLines(inst, since: mark).filter { $0.hasSuffix(": removed") }.count == 2 },
                      "removed lines: \(qmgrLines(inst, since: mark).filter { $0.hasSuffix(": removed") })")
    }
}
