// QueryInterfaceTests - the qmgr plugin's query interface end to end: our
// master, Debian's master.cf, qmgr.so, stock smtp. A destination whose
// server answers 421 to the greeting is throttled (dead) after a failed
// cohort of deliveries, and a sink that
// holds DATA for a long time keeps the smtp transport busy; while they are,
// our `postfix status queues` shows the throttled site with its reason and
// retry time and the busy transport, its -j output is JSON with
// retry_at > generated, and pid/qmgr.query is a socket of root's, mode 0600.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class QueryInterfaceTests: QmgrPluginTestCase {
    var postfixTool: String {
        URL(fileURLWithPath: TestEnv.masterUnderTest).deletingLastPathComponent().appendingPathComponent("postfix").path
    }

    func statusQueues(_ inst: PrivateInstance, json: Bool) throws -> String {
        let r = try runCommand(postfixTool, ["-c", inst.etc, "status", "queues"] + (json ? ["-j"] : []), timeout: 30)
        guard r.status == 0 else { throw HarnessError("postfix status queues: exit \(r.status): \(r.output)") }
        return r.output
    }

    func testThrottledDestinationAndBusyTransportAreReported() throws {
        let busy = try makeSink { $0.dataDelay = 120 }
        let dead = try makeSink { $0.banner = "421 4.3.2 test site is down" }
        let deadSite = "[127.0.0.1]:\(dead.port)"
        let inst = try startQmgrInstance(relayPort: busy.port) { inst in
            let table = inst.etc + "/transport"
            try "dead.example smtp:\(deadSite)\n".write(toFile: table, atomically: true, encoding: .utf8)
            return ["transport_maps = texthash:" + table]
        }
        try assertRootOnlySocket(inst)
        try submit(inst, to: "slow@example.com", subject: "busy-one")
        // One failed delivery is negative feedback only; a whole failed cohort
        // (the initial window's worth) makes the site dead.
        let r = try inst.smtpSource(sessions: 2, messages: 12, to: "someone@dead.example", timeout: 120)
        XCTAssertEqual(r.status, 0, "smtp-source: \(r.output)")

        // Poll the JSON until both conditions hold at once.
        var document: [String: Any] = [:]
        var deadEntry: [String: Any]?
        var smtp: [String: Any]?
        var lastText = ""
        let seen = waitUntil(timeout: 90, interval: 0.5) {
            guard let text = try? self.statusQueues(inst, json: true) else { return false }
            lastText = text
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return false }
            document = parsed
            let transports = parsed["transports"] as? [[String: Any]] ?? []
            smtp = transports.first { $0["name"] as? String == "smtp" }
            let destinations = smtp?["destinations"] as? [[String: Any]] ?? []
            deadEntry = destinations.first { ($0["name"] as? String)?.contains(deadSite) == true }
            return (smtp?["busy"] as? Int ?? 0) >= 1 && deadEntry?["state"] as? String == "throttled"
        }
        XCTAssertTrue(seen, "never both busy and throttled: \(lastText)\n\(inst.logTail())")
        let generated = try XCTUnwrap(document["generated"] as? Double, lastText)
        let retryAt = try XCTUnwrap(deadEntry?["retry_at"] as? Double, lastText)
        XCTAssertGreaterThan(retryAt, generated, "a dead site is retried later")
        let reason = try XCTUnwrap(deadEntry?["dead_reason"] as? String, lastText)
        XCTAssertTrue(reason.contains("test site is down"), reason)
        XCTAssertGreaterThanOrEqual(smtp?["busy"] as? Int ?? 0, 1)

        // The table for people, while the state holds (the busy sink holds DATA for 120 s).
        let table = try statusQueues(inst, json: false)
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("active queue: ") == true, table)
        let smtpRow = try XCTUnwrap(lines.first { $0.hasPrefix("smtp ") }, table)
        let smtpFields = smtpRow.split(separator: " ").map(String.init)
        XCTAssertGreaterThanOrEqual(smtpFields.count, 4, smtpRow)
        XCTAssertGreaterThanOrEqual(Int(smtpFields[3]) ?? 0, 1, "BUSY column: \(smtpRow)")
        let deadRow = try XCTUnwrap(lines.first { $0.hasPrefix("smtp:\(deadSite) ") }, table)
        XCTAssertTrue(deadRow.contains(" throttled "), deadRow)
        XCTAssertNotNil(deadRow.range(of: #"\(\+\d+s\)"#, options: .regularExpression), "retry time: \(deadRow)")
        XCTAssertTrue(deadRow.contains("test site is down"), deadRow)
        try assertPluginQmgr(inst)
    }

    /// pid/qmgr.query: a UNIX socket, uid 0, mode 0600.
    func assertRootOnlySocket(_ inst: PrivateInstance) throws {
        let path = inst.queue + "/pid/qmgr.query"
        var st = stat()
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { lstat(path, &st) == 0 }, "\(path) missing")
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK, "\(path) is not a socket")
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
        XCTAssertEqual(st.st_uid, 0)
    }
}
