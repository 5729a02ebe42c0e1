// StockSchedulingComparisonTests - scheduling behaviour side by side with
// stock qmgr(8): each test runs the same scenario once with stock's qmgr and
// once with our qmgr.so (fresh private instances, one after the other, stock
// daemons) and compares what a ScriptedSink saw, the queue left behind and
// the qmgr's log lines (IDs, pids, times, sizes taken out):
// - `postfix reload` while deliveries are in flight: every message
//   delivered exactly once; with both, the files of those in flight wait
//   in incoming, every recipient done, for a later scan to remove them;
// - default_destination_rate_delay: one session at a time, deliveries
//   spaced by the delay;
// - slow start: no more sessions than initial_destination_concurrency until
//   the first deliveries succeed, then more (up to the limit);
// - `postsuper -r` of a deferred message after its route changed: it goes
//   the new way, once.
// Timing is only asserted with wide margins (the machine is shared); every
// wait is bounded.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class StockSchedulingComparisonTests: QmgrPluginTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try StockBinaries.verifyQueueTools()
    }

    /// Submits `count` messages to `recipient` with subjects prefix-1 ... prefix-count.
    func submitNumbered(_ inst: PrivateInstance, _ count: Int, prefix: String, to recipient: String = "rcpt@example.com") throws {
        for n in 1...count { try submit(inst, to: [recipient], subject: "\(prefix)-\(n)") }
    }

    static func subjects(_ sink: ScriptedSink) -> [String] {
        sink.messages.compactMap { message in
            message.data.split(separator: "\n").first { $0.hasPrefix("Subject: ") }
                .map { String($0.dropFirst(9)).trimmingCharacters(in: .whitespacesAndNewlines) }
        }
    }

    func assertQueueEmpty(_ inst: PrivateInstance, _ qmgr: QueueManager, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 60), "\(qmgr): queue not empty: \(inst.queuedFiles())", file: file, line: line)
    }

    // MARK: reload during delivery

    func testReloadDuringDeliveryLosesAndDuplicatesNothingAsStock() throws {
        let count = 12
        var shapes: [QueueManager: Set<String>] = [:]
        var left: [QueueManager: Int] = [:]
        for qmgr in QueueManager.allCases {
            let sink = try makeSink { $0.dataDelay = 0.4 }
            let inst = try startInstance(qmgr, relayPort: sink.port)
            try submitNumbered(inst, count, prefix: "reload")
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.05) { sink.messages.count >= 2 }, "\(qmgr): deliveries began")
            let mark = inst.logMark()
            XCTAssertLessThan(sink.messages.count, count, "\(qmgr): the reload comes while mail is still in flight")
            let reload = try inst.postfix("reload")
            XCTAssertEqual(reload.status, 0, "\(qmgr): postfix reload: \(reload.output)")
            XCTAssertNotNil(inst.waitForLog("reload", since: mark, timeout: 15), "\(qmgr): the master logged the reload")
            XCTAssertTrue(waitUntil(timeout: 90, interval: 0.2) { sink.messages.count >= count },
                          "\(qmgr): sink got \(sink.messages.count) of \(count)")
            // The new qmgr finds the files of the messages that were in
            // flight still locked by their agents ("skipped, still being
            // delivered") and puts them back in incoming for a later scan.
            // Their recipients are all done, so that scan
            // only removes them: nothing is lost, nothing sent twice.
            // Counted from files, with the "removed" log lines as an upper
            // bound: once (release build, loaded machine) our run had one file
            // gone without its "removed" line in the log (7 left, 4 lines, 12
            // messages, each delivered once); not explained yet.
            XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) {
                self.files(inst, in: "active").isEmpty && self.files(inst, in: "incoming").count <= count - self.removedCount(inst)
            }, "\(qmgr): \(inst.queuedFiles()), \(removedCount(inst)) removed")
            for relative in files(inst, in: "incoming") {
                let pending = try pendingRecipients(inst, "incoming/" + relative)
                XCTAssertEqual(pending, [], "\(qmgr): incoming/\(relative) has nothing left to deliver")
            }
            sleep(1) // a duplicate would arrive now
            let expected = (1...count).map { "reload-\($0)" }
            XCTAssertEqual(Self.subjects(sink).sorted(), expected.sorted(), "\(qmgr): each message exactly once")
            left[qmgr] = files(inst, in: "incoming").count
            shapes[qmgr] = qmgrLineShapes(inst)
            inst.stopAll()
        }
        XCTAssertEqual(shapes[.ours], shapes[.stock], "qmgr log lines (modulo IDs and numbers)")
        print("reload during delivery, files left in incoming (all recipients done): stock \(left[.stock] ?? -1), ours \(left[.ours] ?? -1)")
    }

    func removedCount(_ inst: PrivateInstance) -> Int {
        inst.logLines(containing: "postfix/qmgr[").filter { $0.hasSuffix(": removed") }.count
    }

    /// The recipients of a queue file not yet marked done (stock postcat).
    func pendingRecipients(_ inst: PrivateInstance, _ relative: String) throws -> [String] {
        let r = try runCommand("/usr/sbin/postcat", ["-c", inst.etc, "-e", inst.queue + "/" + relative],
                               env: ["MAIL_CONFIG": inst.etc], timeout: 30)
        guard r.status == 0 else { throw HarnessError("postcat \(relative): \(r.output)") }
        return r.output.split(separator: "\n").filter { $0.hasPrefix("recipient: ") }.map(String.init)
    }

    // MARK: destination rate delay

    func testDestinationRateDelaySpacesDeliveriesAsStock() throws {
        let count = 3, delay = 2.0
        var gaps: [QueueManager: [TimeInterval]] = [:]
        for qmgr in QueueManager.allCases {
            let sink = try makeSink()
            let inst = try startInstance(qmgr, relayPort: sink.port,
                                         parameters: ["default_destination_rate_delay = \(Int(delay))s"])
            try submitNumbered(inst, count, prefix: "rate")
            let times = arrivalTimes(sink, count: count, since: Date(), timeout: 60)
            XCTAssertEqual(times.count, count, "\(qmgr): sink got \(sink.messages.count) of \(count)")
            assertQueueEmpty(inst, qmgr)
            XCTAssertEqual(sink.mostConcurrentSessions, 1, "\(qmgr): a rate delay means one session at a time")
            gaps[qmgr] = zip(times.dropFirst(), times).map { $0 - $1 }
            inst.stopAll()
        }
        for qmgr in QueueManager.allCases {
            for gap in gaps[qmgr] ?? [] {
                XCTAssertGreaterThanOrEqual(gap, delay - 0.3, "\(qmgr): deliveries spaced by the delay: \(gaps[qmgr] ?? [])")
            }
        }
        // Same spacing within a generous margin (no timed goal: a shared machine).
        let mean = { (g: [TimeInterval]) in g.reduce(0, +) / Double(max(1, g.count)) }
        XCTAssertLessThan(abs(mean(gaps[.ours] ?? []) - mean(gaps[.stock] ?? [])), delay,
                          "mean gaps: ours \(gaps[.ours] ?? []), stock \(gaps[.stock] ?? [])")
    }

    // MARK: slow start

    func testSlowStartRampsConcurrencyAsStock() throws {
        let count = 24, initial = 2, limit = 8
        var ramps: [QueueManager: (first: Int, most: Int)] = [:]
        for qmgr in QueueManager.allCases {
            let sink = try makeSink { $0.dataDelay = 1.0 }
            let inst = try startInstance(qmgr, relayPort: sink.port, parameters: [
                "initial_destination_concurrency = \(initial)", "smtp_destination_concurrency_limit = \(limit)",
                // One delivery per session: a cached idle session would count as open at the sink.
                "smtp_connection_cache_on_demand = no",
            ])
            let source = try inst.smtpSource(sessions: 4, messages: count)
            XCTAssertEqual(source.status, 0, "\(qmgr): smtp-source: \(source.output)")
            // Until the sink has taken the first message (then replies),
            // no feedback can have come back: the window is the initial
            // concurrency. Sampled while the sink holds that reply back.
            var first = 0
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.02) {
                // Read before the check: still no message after it means no reply before it.
                let most = sink.mostConcurrentSessions
                guard sink.messages.isEmpty else { return true }
                first = most
                return false
            }, "\(qmgr): first delivery")
            XCTAssertTrue(waitUntil(timeout: 120, interval: 0.2) { sink.messages.count >= count },
                          "\(qmgr): sink got \(sink.messages.count) of \(count)")
            assertQueueEmpty(inst, qmgr)
            ramps[qmgr] = (first, sink.mostConcurrentSessions)
            inst.stopAll()
        }
        for qmgr in QueueManager.allCases {
            let ramp = try XCTUnwrap(ramps[qmgr])
            XCTAssertEqual(ramp.first, initial, "\(qmgr): sessions before any feedback")
            XCTAssertGreaterThan(ramp.most, initial, "\(qmgr): the window grew with positive feedback")
            XCTAssertLessThanOrEqual(ramp.most, limit, "\(qmgr): never above the concurrency limit")
        }
        XCTAssertEqual(ramps[.ours]?.first, ramps[.stock]?.first, "sessions before feedback, ours vs stock")
        print("slow start, most sessions: stock \(ramps[.stock]?.most ?? 0), ours \(ramps[.ours]?.most ?? 0)")
    }

    // MARK: postsuper -r

    func testRequeueAfterRouteChangeGoesTheNewWayAsStock() throws {
        var shapes: [QueueManager: Set<String>] = [:]
        for qmgr in QueueManager.allCases {
            let old = try makeSink { $0.defaultRecipientReply = "450 4.2.0 try again later" }
            let new = try makeSink()
            let inst = try startInstance(qmgr, relayPort: old.port)
            try submit(inst, to: ["moved@example.com"], subject: "requeue")
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
                self.files(inst, in: "deferred").count == 1 && self.files(inst, in: "active").isEmpty
            }, "\(qmgr): deferred at the old route: \(inst.queuedFiles())")
            XCTAssertGreaterThanOrEqual(old.sessions, 1, "\(qmgr): the old route was tried")

            try postconf(inst, ["-e", "relayhost = [127.0.0.1]:\(new.port)"])
            // Daemons of the old configuration (trivial-rewrite with the old
            // relayhost) must be gone before the requeue, as StockQueueInstance.reconfigure waits.
            let oldDaemons = Set(inst.children().filter { !Proc.cmdline($0).joined(separator: " ").contains("qmgr") })
            XCTAssertEqual(try inst.postfix("reload").status, 0)
            XCTAssertTrue(waitUntil(timeout: 30) { oldDaemons.allSatisfy { !Proc.isAlive($0) } },
                          "\(qmgr): old daemons still running: \(oldDaemons.filter(Proc.isAlive))")
            let mark = inst.logMark()
            let requeue = try runCommand("/usr/sbin/postsuper", ["-c", inst.etc, "-r", "ALL"], timeout: 30)
            XCTAssertEqual(requeue.status, 0, "\(qmgr): postsuper -r: \(requeue.output)")
            // postsuper wakes pickup; a wakeup that meets pickup's own
            // restart by the reload is lost (stock's pickup would then wait
            // for its 60 s timer), so pickup is woken again while the
            // message waits in maildrop.
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.5) {
                if new.messages.count >= 1 { return true }
                if !self.files(inst, in: "maildrop").isEmpty {
                    _ = try? runCommand("/usr/sbin/postkick", ["-c", inst.etc, "public", "pickup", "W"], timeout: 10)
                }
                return false
            }, "\(qmgr): delivered on the new route\n\(inst.log(since: mark))")
            assertQueueEmpty(inst, qmgr)
            sleep(1)
            XCTAssertEqual(Self.subjects(new), ["requeue"], "\(qmgr): once, the new way")
            XCTAssertEqual(old.messages.count, 0, "\(qmgr): nothing accepted on the old route")
            XCTAssertTrue(waitUntil(timeout: 30) {
                inst.logLines(since: mark, containing: "postfix/postsuper[").filter { $0.hasSuffix("Requeued: 1 message") }.count == 1
            }, "\(qmgr): postsuper's line")
            shapes[qmgr] = qmgrLineShapes(inst, since: mark)
            inst.stopAll()
        }
        XCTAssertEqual(shapes[.ours], shapes[.stock], "qmgr log lines after the requeue (modulo IDs and numbers)")
    }
}
