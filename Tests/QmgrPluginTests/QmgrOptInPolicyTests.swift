// QmgrOptInPolicyTests - the two opt-in policies stock lacks, end to end on
// our qmgr.so with the stock daemons (QmgrCore's unit tests cover the
// arithmetic; these show the running qmgr applies it):
// - mailhost_qmgr_retry_jitter: deferred messages' retry times (the
//   deferred files' mtimes) spread by ±p% around stock's backoff, where
//   without it they sit at the backoff;
// - <transport>_mailhost_destination_rate_limit "N/period": a burst of N
//   deliveries, then one every period/N, with more than one session at a
//   time (stock's rate delay forces one), and the query interface showing
//   the bucket.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class QmgrOptInPolicyTests: QmgrPluginTestCase {
    /// Seconds from now until each deferred file's retry time (its mtime),
    /// for the files (relative to deferred/) not in `excluding`.
    func retryDelays(_ inst: PrivateInstance, excluding: Set<String> = []) -> [Double] {
        let now = Date().timeIntervalSince1970
        return files(inst, in: "deferred").filter { !excluding.contains($0) }.compactMap { relative in
            var st = stat()
            guard stat(inst.queue + "/deferred/" + relative, &st) == 0 else { return nil }
            return Double(st.st_mtim.tv_sec) - now
        }
    }

    func submitAndWaitDeferred(_ inst: PrivateInstance, count: Int, total: Int, prefix: String) throws {
        for n in 1...count {
            let r = try inst.sendmail(to: "later@example.com", body: "Subject: \(prefix)-\(n)\n\nbody\n")
            XCTAssertEqual(r.status, 0, "sendmail: \(r.output)")
        }
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
            self.files(inst, in: "deferred").count == total && self.files(inst, in: "active").isEmpty
                && self.files(inst, in: "incoming").isEmpty
        }, "\(total) deferred: \(inst.queuedFiles())")
    }

    func testRetryJitterSpreadsDeferredRetryTimes() throws {
        let sink = try makeSink { $0.defaultRecipientReply = "450 4.2.0 try again later" }
        // minimal_backoff_time is 300 s: stock retries a fresh deferral then.
        let inst = try startQmgrInstance(relayPort: sink.port)
        try submitAndWaitDeferred(inst, count: 4, total: 4, prefix: "plain")
        let plain = retryDelays(inst)
        XCTAssertEqual(plain.count, 4)
        for delay in plain { XCTAssertEqual(delay, 300, accuracy: 20, "without jitter, stock's backoff: \(plain)") }

        try postconf(inst, ["-e", "mailhost_qmgr_retry_jitter = 50"])
        let oldWorker = try XCTUnwrap(qmgrWorker(inst))
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        // Submit only once the old worker is gone: until it exits it still
        // reads cleanup's triggers from the fifo (stock's does too), and a
        // trigger it takes with it leaves a message in incoming until the
        // next wakeup, 300 s later.
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) {
            kill(oldWorker, 0) != 0 && (self.qmgrWorker(inst).map { $0 != oldWorker } ?? false)
        }, "the qmgr worker \(oldWorker) was not replaced after the reload")
        let before = Set(files(inst, in: "deferred"))
        try submitAndWaitDeferred(inst, count: 8, total: 12, prefix: "jittered")
        let jittered = retryDelays(inst, excluding: before)
        XCTAssertEqual(jittered.count, 8)
        for delay in jittered {
            XCTAssertGreaterThanOrEqual(delay, 150 - 20, "within -50% of 300 s: \(jittered)")
            XCTAssertLessThanOrEqual(delay, 450 + 5, "within +50% of 300 s: \(jittered)")
        }
        // Eight uniform draws over 300 s all within 30 s of each other: p < 1e-6.
        let spread = (jittered.max() ?? 0) - (jittered.min() ?? 0)
        XCTAssertGreaterThan(spread, 30, "retry times spread: \(jittered.sorted())")
        XCTAssertEqual(sink.messages.count, 0)
    }

    func testDestinationRateLimitAllowsBurstThenSpacesWithoutForcingConcurrencyOne() throws {
        let count = 6, burst = 2, period = 4.0   // 2/4s: a burst of 2, then one every 2 s
        let sink = try makeSink { $0.dataDelay = 1.0 }
        let inst = try startQmgrInstance(relayPort: sink.port,
                                         parameters: ["smtp_mailhost_destination_rate_limit = \(burst)/\(Int(period))s"])
        let start = Date()
        for n in 1...count {
            let r = try inst.sendmail(to: "rcpt@example.com", body: "Subject: limited-\(n)\n\nbody\n")
            XCTAssertEqual(r.status, 0, "sendmail: \(r.output)")
        }
        // While the limit holds mail back, the query interface shows the bucket.
        var document = "", emptyBucket = false
        let arrivals = arrivalTimes(sink, count: count, since: start, timeout: 90) {
            document = (try? self.queryDocument(inst)) ?? ""
            emptyBucket = Self.smtpDestinations(document).contains {
                $0["rate_limit_tokens"] as? Int == 0 && $0["next_token_at"] is Double
            }
            return emptyBucket
        }
        XCTAssertTrue(emptyBucket, "an empty bucket with its next token in the query document: \(document)")
        XCTAssertEqual(arrivals.count, count, "sink got \(sink.messages.count) of \(count)")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue: \(inst.queuedFiles())")
        XCTAssertGreaterThanOrEqual(sink.mostConcurrentSessions, 2, "the burst ran in parallel, unlike a rate delay")
        // Never more than burst + t·burst/period starts in t seconds: the
        // k-th delivery (0-based) ends no earlier than (k - burst + 1) spacings
        // after the first (each takes the sink's 1 s).
        let spacing = period / Double(burst)
        for k in burst..<arrivals.count {
            XCTAssertGreaterThanOrEqual(arrivals[k] - arrivals[0], Double(k - burst + 1) * spacing - 0.5,
                                        "delivery \(k) too early: \(arrivals)")
        }
    }

    /// The query document from pid/qmgr.query, by our `postfix status queues -j` as root.
    func queryDocument(_ inst: PrivateInstance) throws -> String {
        let r = try runCommand(ourPostfixTool, ["-c", inst.etc, "status", "queues", "-j"], timeout: 10)
        guard r.status == 0 else { throw HarnessError("postfix status queues -j: \(r.output)") }
        return r.output
    }

    static func smtpDestinations(_ document: String) -> [[String: Any]] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any],
              let transports = root["transports"] as? [[String: Any]],
              let smtp = transports.first(where: { $0["name"] as? String == "smtp" }) else { return [] }
        return smtp["destinations"] as? [[String: Any]] ?? []
    }
}
