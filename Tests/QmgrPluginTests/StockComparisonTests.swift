// StockComparisonTests - the same inputs run once with stock qmgr(8) and
// once with our qmgr.so, each on a fresh private instance (our master,
// Debian's master.cf, stock daemons; without qmgr.so in the instance's
// libexec, the `qmgr` line runs /usr/lib/postfix/sbin/qmgr, which is
// checked), and what each leaves behind is compared:
// - the queue file (stock postcat, verified) and defer log of a deferred
//   and of a partially delivered message, with queue IDs and times
//   normalized, plus the file mode and its place under deferred/;
// - recipients split by the recipient limit and routed by transport_maps
//   to sinks on three loopback addresses: each delivered once, the same
//   number of SMTP transactions per destination;
// - `sendmail -bv` and `sendmail -v` reports in the sender's mailbox;
// - delay warnings and expiry (DSNs, stock's log lines);
// - a dead destination suspended, then recovered; a refused backlog
//   suspended after at most a window of sessions.
// Every wait is bounded; sinks and instances are stopped after each test.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class StockComparisonTests: QmgrPluginTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try StockBinaries.verifyQueueTools()
    }

    // MARK: 1. queue files and defer logs

    /// What a deferred message leaves in the queue, IDs and times normalized.
    struct DeferredMessage: Equatable {
        var path: String
        var mode: String
        var queueFile: String
        var deferLog: String
    }

    func testDeferredAndPartiallyDeliveredFilesMatchStock() throws {
        var results: [QueueManager: [DeferredMessage]] = [:]
        for qmgr in QueueManager.allCases {
            let sink = try makeSink { $0.recipientRules = [.init(suffix: "later@example.com", reply: "450 4.2.0 try again later")] }
            let inst = try startInstance(qmgr, relayPort: sink.port)
            try submit(inst, to: ["later@example.com"], subject: "deferred-whole")
            try submit(inst, to: ["ok@example.com", "later@example.com"], subject: "deferred-partly")
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
                self.files(inst, in: "deferred").count == 2 && self.files(inst, in: "active").isEmpty
                    && self.files(inst, in: "incoming").isEmpty
            }, "\(qmgr): not both deferred: \(inst.queuedFiles())")
            XCTAssertEqual(sink.deliveredRecipients, ["ok@example.com"], "\(qmgr)")
            XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { self.files(inst, in: "defer").count == 2 },
                          "\(qmgr): defer logs \(files(inst, in: "defer"))")
            results[qmgr] = try files(inst, in: "deferred").map { try deferredMessage(inst, $0) }
                .sorted { $0.queueFile < $1.queueFile }
            inst.stopAll()
        }
        let stock = try XCTUnwrap(results[.stock]), ours = try XCTUnwrap(results[.ours])
        XCTAssertEqual(stock.count, 2)
        XCTAssertTrue(stock[0].queueFile.contains("done_recipient") != stock[1].queueFile.contains("done_recipient"),
                      "one of stock's messages is partly delivered:\n\(stock)")
        for (s, o) in zip(stock, ours) {
            XCTAssertTrue(s.deferLog.contains("offset=@[recipient: later@example.com]"), "stock's defer log: \(s.deferLog)")
            XCTAssertEqual(s.path, "deferred/H/QUEUEID")
            XCTAssertEqual(s.mode, "700")
            XCTAssertEqual(o.path, s.path)
            XCTAssertEqual(o.mode, s.mode)
            XCTAssertEqual(o.queueFile, s.queueFile, Self.diff(s.queueFile, o.queueFile))
            XCTAssertEqual(o.deferLog, s.deferLog, Self.diff(s.deferLog, o.deferLog))
        }
    }

    /// The deferred file at `relative` (under deferred/) and its defer log.
    func deferredMessage(_ inst: PrivateInstance, _ relative: String) throws -> DeferredMessage {
        let id = (relative as NSString).lastPathComponent
        let path = inst.queue + "/deferred/" + relative
        var st = stat()
        guard stat(path, &st) == 0 else { throw HarnessError("stat \(path): \(String(cString: strerror(errno)))") }
        let listing = try postcat(inst, path)
        let deferLog = try String(contentsOfFile: inst.queue + "/defer/" + relative, encoding: .utf8)
        return DeferredMessage(path: Self.normalize("deferred/" + relative, id: id),
                               mode: String(st.st_mode & 0o7777, radix: 8),
                               queueFile: Self.normalize(listing.records.replacingOccurrences(of: inst.queue, with: "QUEUE"), id: id),
                               deferLog: Self.normalize(Self.resolveOffsets(deferLog, listing.offsets), id: id))
    }

    /// Stock postcat's listing with record offsets (-o), split into the
    /// records without offsets and a map from offset to record.
    func postcat(_ inst: PrivateInstance, _ path: String) throws -> (records: String, offsets: [Int: String]) {
        let r = try runCommand("/usr/sbin/postcat", ["-c", inst.etc, "-o", "-e", "-h", "-b", path],
                               env: ["MAIL_CONFIG": inst.etc, "TZ": "UTC"], timeout: 30)
        guard r.status == 0 else { throw HarnessError("postcat \(path): \(r.output)") }
        var records: [String] = []
        var offsets: [Int: String] = [:]
        for line in r.output.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            if let space = trimmed.firstIndex(of: " "), let offset = Int(trimmed[..<space]) {
                let record = String(trimmed[trimmed.index(after: space)...])
                offsets[offset] = record
                records.append(record)
            } else {
                records.append(String(line))
            }
        }
        return (records.joined(separator: "\n"), offsets)
    }

    /// A defer log's `offset=N` (a file offset, which depends on the length
    /// of the queue ID) replaced by the record at N.
    static func resolveOffsets(_ log: String, _ offsets: [Int: String]) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard line.hasPrefix("offset="), let n = Int(line.dropFirst(7)) else { return String(line) }
            return "offset=@[\(offsets[n] ?? "no record at \(n)")]"
        }.joined(separator: "\n")
    }

    /// Queue IDs and times replaced by placeholders; the hash directory of
    /// a queue path by the placeholder when it is the ID's first character.
    static func normalize(_ text: String, id: String) -> String {
        var out = text.replacingOccurrences(of: "/\(id.prefix(1))/\(id)", with: "/H/QUEUEID")
            .replacingOccurrences(of: id, with: "QUEUEID")
        let patterns = [
            // asctime, but not of the epoch (a sent warning's time is -1 or 0)
            #"[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d (?!1969|1970)\d{4}"#,
            #"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}( \([A-Za-z]+\))?"#, // RFC 5322
            #"(time|create_time|arrival_time|log_time)(: |=)\d+(\.\d+)?"#,
        ]
        // The size record's second field is the offset of the content,
        // which moves with the printed length of the envelope's times.
        out = out.replacingOccurrences(of: #"(message_size: +\d+ +)\d+"#, with: "$1DATA_OFFSET", options: .regularExpression)
        for pattern in patterns {
            out = out.replacingOccurrences(of: pattern, with: "TIME", options: .regularExpression)
        }
        return out
    }

    /// The first differing line of two texts, for failure messages.
    static func diff(_ a: String, _ b: String) -> String {
        let la = a.split(separator: "\n", omittingEmptySubsequences: false)
        let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(la.count, lb.count) where i >= la.count || i >= lb.count || la[i] != lb[i] {
            return "line \(i + 1): stock \(i < la.count ? String(la[i]) : "<none>") | ours \(i < lb.count ? String(lb[i]) : "<none>")"
        }
        return "equal"
    }

    // MARK: 2. recipient limits and transport_maps

    func testRecipientSplitAndRoutesMatchStock() throws {
        let perDomain = ["a.example": 5, "b.example": 3, "c.example": 1]
        let addresses = ["a.example": "127.0.0.2", "b.example": "127.0.0.3", "c.example": "127.0.0.4"]
        let recipients = perDomain.sorted { $0.key < $1.key }.flatMap { domain, n in (1...n).map { "user\($0)@\(domain)" } }
        var transactions: [QueueManager: [String: [Int]]] = [:]
        for qmgr in QueueManager.allCases {
            var sinkFor: [String: ScriptedSink] = [:]
            for (domain, address) in addresses {
                let sink = try ScriptedSink(address: address, script: .init())
                sinks.append(sink)
                sinkFor[domain] = sink
            }
            let inst = try startInstance(qmgr, parameters: ["smtp_destination_recipient_limit = 2"]) { inst in
                let table = inst.etc + "/transport"
                try sinkFor.map { "\($0.key) smtp:[\($0.value.address)]:\($0.value.port)" }.joined(separator: "\n")
                    .write(toFile: table, atomically: true, encoding: .utf8)
                return ["transport_maps = texthash:" + table]
            }
            try submit(inst, to: recipients, subject: "split")
            XCTAssertTrue(waitUntil(timeout: 90, interval: 0.2) {
                sinkFor.values.map(\.deliveredRecipients.count).reduce(0, +) >= recipients.count
            }, "\(qmgr): delivered \(sinkFor.mapValues(\.deliveredRecipients))")
            XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "\(qmgr): queue not empty: \(inst.queuedFiles())")
            for (domain, sink) in sinkFor {
                XCTAssertEqual(sink.deliveredRecipients.sorted(), recipients.filter { $0.hasSuffix("@" + domain) },
                               "\(qmgr): \(domain) must get each of its recipients exactly once")
                XCTAssertTrue(sink.messages.allSatisfy { $0.recipients.count <= 2 }, "\(qmgr): recipient limit exceeded")
            }
            transactions[qmgr] = sinkFor.mapValues { $0.messages.map(\.recipients.count).sorted() }
            inst.stopAll()
        }
        XCTAssertEqual(transactions[.stock]?["a.example"], [1, 2, 2])
        XCTAssertEqual(transactions[.ours], transactions[.stock], "SMTP transactions (recipients each) per destination")
    }

    // MARK: 3. sendmail -bv and -v

    func testVerifyAndTraceReportsMatchStock() throws {
        var reports: [QueueManager: [[String]]] = [:]
        for qmgr in QueueManager.allCases {
            let inst = try startInstance(qmgr)
            try submit(inst, to: ["nobody@localhost"], subject: "verify", options: ["-bv"])
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.reports(inst).count == 1 },
                          "\(qmgr): no -bv report in root's mailbox")
            XCTAssertTrue(inst.mailbox("nobody").isEmpty, "\(qmgr): -bv must not deliver")
            try submit(inst, to: ["nobody@localhost"], subject: "trace", options: ["-v"])
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.reports(inst).count == 2 && inst.mailbox("nobody").count == 1 },
                          "\(qmgr): no -v delivery and trace report")
            XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "\(qmgr): queue not empty: \(inst.queuedFiles())")
            reports[qmgr] = self.reports(inst)
            inst.stopAll()
        }
        let stock = try XCTUnwrap(reports[.stock])
        XCTAssertTrue(stock.contains { $0.contains("<nobody@localhost>: delivery via local: delivers to maildir") }, "\(stock)")
        XCTAssertTrue(stock.contains { $0.contains("<nobody@localhost>: delivery via local: delivered to maildir") }, "\(stock)")
        XCTAssertEqual(reports[.ours], stock)
    }

    /// Delivery status reports in root's mailbox, each reduced to its
    /// subject, per-recipient text and DSN fields (sorted).
    func reports(_ inst: PrivateInstance) -> [[String]] {
        inst.mailbox("root").filter { $0.contains("multipart/report") }.map(Self.reportLines).sorted { $0.description < $1.description }
    }

    static func reportLines(_ mail: String) -> [String] {
        let kept = ["Subject:", "<", "Final-Recipient:", "Original-Recipient:", "Action:", "Status:", "Remote-MTA:",
                    "Diagnostic-Code:", "Reporting-MTA:", "X-Postfix-Sender:"]
        return mail.split(separator: "\n").map(String.init).filter { line in kept.contains { line.hasPrefix($0) } }
    }

    // MARK: 4. delay warning and expiry

    func testDelayWarningMatchesStock() throws {
        var seen: [QueueManager: [[String]]] = [:]
        var warned: [QueueManager: DeferredMessage] = [:]
        for qmgr in QueueManager.allCases {
            let sink = try makeSink { $0.defaultRecipientReply = "450 4.2.0 try again later" }
            let inst = try startInstance(qmgr, relayPort: sink.port, parameters: ["delay_warning_time = 1s"])
            try submit(inst, to: ["slow@example.com"], subject: "warn")
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.files(inst, in: "deferred").count == 1 },
                          "\(qmgr): not deferred: \(inst.queuedFiles())")
            Thread.sleep(forTimeInterval: 2)
            try flush(inst)
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.reports(inst).count == 1 },
                          "\(qmgr): no delay warning in root's mailbox")
            XCTAssertNotNil(inst.waitForLog("postfix/bounce[", "sender delay notification", timeout: 15))
            seen[qmgr] = reports(inst).map { $0.map { Self.normalizePort($0, sink.port) } }
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
                self.files(inst, in: "deferred").count == 1 && self.files(inst, in: "active").isEmpty
                    && self.files(inst, in: "defer").count == 1
            }, "\(qmgr): not deferred again: \(inst.queuedFiles())")
            let file = try XCTUnwrap(files(inst, in: "deferred").first)
            warned[qmgr] = try deferredMessage(inst, file)
            inst.stopAll()
        }
        XCTAssertTrue(seen[.stock]?.first?.contains("Action: delayed") == true, "\(seen)")
        XCTAssertEqual(seen[.ours], seen[.stock])
        // After the warning: the queue file (its warning time record) and defer log.
        let stockFile = try XCTUnwrap(warned[.stock]), oursFile = try XCTUnwrap(warned[.ours])
        XCTAssertEqual(oursFile.queueFile, stockFile.queueFile, Self.diff(stockFile.queueFile, oursFile.queueFile))
        XCTAssertEqual(oursFile.deferLog, stockFile.deferLog, Self.diff(stockFile.deferLog, oursFile.deferLog))
        XCTAssertEqual(oursFile.mode, stockFile.mode)
    }

    func testExpiryMatchesStock() throws {
        var seen: [QueueManager: [[String]]] = [:]
        var expiredLines: [QueueManager: [String]] = [:]
        for qmgr in QueueManager.allCases {
            let sink = try makeSink { $0.defaultRecipientReply = "450 4.2.0 try again later" }
            let inst = try startInstance(qmgr, relayPort: sink.port,
                                         parameters: ["maximal_queue_lifetime = 1s", "bounce_queue_lifetime = 1s"])
            try submit(inst, to: ["old@example.com"], subject: "expire")
            XCTAssertNotNil(inst.waitForLog("to=<old@example.com>", "status=deferred", timeout: 60))
            // smtp logs the deferral before the qmgr moves the file: postqueue -f rescans deferred/ only.
            XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) {
                self.files(inst, in: "deferred").count == 1 && self.files(inst, in: "active").isEmpty
            }, "\(qmgr): not in deferred/: \(inst.queuedFiles())")
            Thread.sleep(forTimeInterval: 2)
            try flush(inst)
            XCTAssertNotNil(inst.waitForLog("postfix/qmgr[", "status=expired", timeout: 60), "\(qmgr): no expiry logged")
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.reports(inst).count == 1 },
                          "\(qmgr): no bounce in root's mailbox")
            XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "\(qmgr): queue not empty: \(inst.queuedFiles())")
            seen[qmgr] = reports(inst).map { $0.map { Self.normalizePort($0, sink.port) } }
            expiredLines[qmgr] = inst.logLines(containing: "status=expired").map(Self.logMessage)
            inst.stopAll()
        }
        XCTAssertEqual(expiredLines[.stock], ["postfix/qmgr: QUEUEID: from=<root@localhost>, status=expired, returned to sender"])
        XCTAssertEqual(expiredLines[.ours], expiredLines[.stock])
        XCTAssertTrue(seen[.stock]?.first?.contains("Action: failed") == true, "\(seen)")
        XCTAssertEqual(seen[.ours], seen[.stock])
    }

    // MARK: 5. dead destination

    func testDeadDestinationSuspendedThenRecoveredAsStock() throws {
        var reasons: [QueueManager: [String]] = [:]
        for qmgr in QueueManager.allCases {
            let port = try Net.freePort()
            // One failed session at concurrency 1 is a failed cohort: the site is dead.
            let inst = try startInstance(qmgr, relayPort: port, parameters: ["smtp_initial_destination_concurrency = 1"])
            try submit(inst, to: ["first@example.com"], subject: "dead-1")
            XCTAssertNotNil(inst.waitForLog("to=<first@example.com>", "status=deferred", timeout: 60))
            try submit(inst, to: ["second@example.com"], subject: "dead-2")
            XCTAssertNotNil(inst.waitForLog("to=<second@example.com>", "status=deferred", timeout: 60))
            XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) { self.files(inst, in: "deferred").count == 2 })
            reasons[qmgr] = inst.logLines(containing: "status=deferred").map { Self.normalizePort(Self.logMessage($0), port) }

            let sink = try makeSink(port: port)
            try flush(inst)
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { sink.deliveredRecipients.count >= 2 },
                          "\(qmgr): after recovery the sink got \(sink.deliveredRecipients)")
            XCTAssertEqual(sink.deliveredRecipients.sorted(), ["first@example.com", "second@example.com"])
            XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "\(qmgr): queue not empty: \(inst.queuedFiles())")
            inst.stopAll()
        }
        let stock = try XCTUnwrap(reasons[.stock])
        XCTAssertTrue(stock.contains { $0.contains("to=<second@example.com>") && $0.contains("delivery temporarily suspended") },
                      "\(stock)")
        XCTAssertEqual(reasons[.ours], stock)
    }

    /// With the default window (initial concurrency 5), a backlog released
    /// at once to a refusing destination: under both, at most a window of
    /// sessions is refused, then the rest is suspended without a session.
    func testFailuresBeforeSuspensionMatchStock() throws {
        var outcome: [QueueManager: [String: Int]] = [:]
        let count = 12
        for qmgr in QueueManager.allCases {
            let port = try Net.freePort()
            let inst = try startInstance(qmgr, relayPort: port, parameters: ["defer_transports = smtp"])
            for n in 1...count { try submit(inst, to: ["r\(n)@example.com"], subject: "refused") }
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.files(inst, in: "deferred").count == count },
                          "\(qmgr): not all deferred: \(inst.queuedFiles())")
            try postconf(inst, ["-X", "defer_transports"])
            XCTAssertEqual(try inst.postfix("reload").status, 0)
            XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { self.qmgrPid(qmgr, inst) != nil }, "\(qmgr): no qmgr after reload")
            let mark = inst.logMark()
            try flush(inst)
            XCTAssertTrue(waitUntil(timeout: 90, interval: 0.2) {
                inst.logLines(since: mark, containing: "status=deferred").count >= count
            }, "\(qmgr): \(inst.logLines(since: mark, containing: "status=deferred").count) of \(count) deferred again")
            let lines = inst.logLines(since: mark, containing: "status=deferred")
            outcome[qmgr] = ["refused": lines.filter { $0.contains("(connect to") }.count,
                             "suspended": lines.filter { $0.contains("delivery temporarily suspended") }.count]
            inst.stopAll()
        }
        // The exact split depends on how soon refusals come back while the
        // flush still moves files into active (4 refused, 8 suspended under
        // both here, unloaded); what must hold under both: no more sessions
        // than the initial window before the site is declared dead, and the
        // rest of the backlog suspended without a session.
        for qmgr in QueueManager.allCases {
            let refused = outcome[qmgr]?["refused"] ?? 0, suspended = outcome[qmgr]?["suspended"] ?? 0
            XCTAssertTrue((1...5).contains(refused), "\(qmgr): \(outcome)")
            XCTAssertEqual(refused + suspended, count, "\(qmgr): \(outcome)")
        }
    }

    func qmgrPid(_ qmgr: QueueManager, _ inst: PrivateInstance) -> pid_t? {
        qmgr == .stock ? stockQmgr(inst) : qmgrWorker(inst)
    }

    /// A log line from "postfix/NAME: " on, without the pid, queue ID and delays normalized.
    static func logMessage(_ line: String) -> String {
        let text = line.range(of: #"postfix/[a-z-]+\[\d+\]: .*"#, options: .regularExpression).map { String(line[$0]) } ?? line
        return text.replacingOccurrences(of: #"^(postfix/[a-z-]+)\[\d+\]: [0-9A-Za-z]+: "#, with: "$1: QUEUEID: ",
                                         options: .regularExpression)
            .replacingOccurrences(of: #"delay=[0-9.]+, delays=[0-9./]+"#, with: "DELAYS", options: .regularExpression)
    }

    static func normalizePort(_ text: String, _ port: Int) -> String {
        text.replacingOccurrences(of: ":\(port)", with: ":PORT")
    }
}
