// StockSideBySide.swift - what the side-by-side tests with stock qmgr(8)
// share (StockComparisonTests, StockSchedulingComparisonTests; the last
// helpers also QmgrOptInPolicyTests and QuerySocketLifetimeTests): an
// instance whose `qmgr` line runs stock's qmgr (qmgr.so absent from its
// libexec, checked) or our plugin, submission with fixed headers, a flush,
// a view of the qmgr's log lines with queue IDs, pids, times and sizes
// taken out, arrival times at a sink, and our postfix tool's path.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension QmgrPluginTestCase {
    enum QueueManager: String, CaseIterable { case stock, ours }

    /// A started instance whose qmgr line runs stock qmgr or our plugin.
    func startInstance(_ qmgr: QueueManager, relayPort: Int? = nil, parameters: [String] = [],
                       prepare: (PrivateInstance) throws -> [String] = { _ in [] }) throws -> PrivateInstance {
        if qmgr == .ours { return try startQmgrInstance(relayPort: relayPort, parameters: parameters, prepare: prepare) }
        let inst = try makeInstance(relayPort: relayPort)
        XCTAssertFalse(FileManager.default.fileExists(atPath: inst.libexec + "/qmgr.so"))
        let settings = parameters + (try prepare(inst))
        if !settings.isEmpty { try postconf(inst, ["-e"] + settings) }
        try inst.start()
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { self.stockQmgr(inst) != nil }, "stock qmgr is not running")
        return inst
    }

    /// The instance's stock qmgr process (its executable is the package's qmgr).
    func stockQmgr(_ inst: PrivateInstance) -> pid_t? {
        inst.children().first { pid in
            ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "") == "/usr/lib/postfix/sbin/qmgr"
        }
    }

    /// Submits one message with stock sendmail, fixed headers (so only the
    /// Received header and the envelope carry IDs and times), and `options`.
    func submit(_ inst: PrivateInstance, to recipients: [String], subject: String, options: [String] = []) throws {
        let body = "From: root@localhost\nSubject: \(subject)\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n"
            + "Message-ID: <\(subject)@test.invalid>\n\nbody of \(subject)\n"
        let r = try runCommand("/usr/sbin/sendmail", ["-C", inst.etc, "-f", "root@localhost"] + options + recipients,
                               env: ["MAIL_CONFIG": inst.etc], stdin: body, timeout: 60)
        XCTAssertEqual(r.status, 0, "sendmail: \(r.output)")
    }

    /// Stock `postqueue -f`: a queue run of everything.
    func flush(_ inst: PrivateInstance) throws {
        let r = try runCommand(try QmgrPluginEnv.postqueue(), ["-c", inst.etc, "-f"], env: ["MAIL_CONFIG": inst.etc], timeout: 30)
        XCTAssertEqual(r.status, 0, "postqueue -f: \(r.output)")
    }

    /// When each message reached `sink`, in seconds since `start`, sampled
    /// every 20 ms until `count` arrived and `alsoUntil` (called once per
    /// sample, until it holds) held, or `timeout` passed.
    func arrivalTimes(_ sink: ScriptedSink, count: Int, since start: Date, timeout: TimeInterval,
                      alsoUntil: () -> Bool = { true }) -> [TimeInterval] {
        var times: [TimeInterval] = []
        var also = false
        waitUntil(timeout: timeout, interval: 0.02) {
            let now = Date().timeIntervalSince(start)
            while times.count < sink.messages.count { times.append(now) }
            if !also { also = alsoUntil() }
            return times.count >= count && also
        }
        return times
    }

    /// Our `postfix` tool, built beside the master under test.
    var ourPostfixTool: String {
        URL(fileURLWithPath: TestEnv.masterUnderTest).deletingLastPathComponent().appendingPathComponent("postfix").path
    }

    /// The distinct shapes of the qmgr's log lines since `mark`: the text
    /// after "postfix/qmgr[pid]: ", with queue IDs, numbers and the
    /// instance's ports replaced, so stock's and ours can be compared.
    func qmgrLineShapes(_ inst: PrivateInstance, since mark: Int = 0) -> Set<String> {
        Set(inst.logLines(since: mark, containing: "postfix/qmgr[").compactMap { line -> String? in
            guard let range = line.range(of: #"postfix/qmgr\[\d+\]: "#, options: .regularExpression) else { return nil }
            return String(line[range.upperBound...])
                .replacingOccurrences(of: #"\b[0-9A-F]{6,12}\b|\b[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,15}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{1,6}\b"#,
                                      with: "QUEUEID", options: .regularExpression)
                .replacingOccurrences(of: #"\d+"#, with: "N", options: .regularExpression)
        })
    }
}
