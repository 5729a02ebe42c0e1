// QmgrCrashSafetyTests - SIGKILL the queue manager at random moments under
// load, many times, and check that nothing is lost or stuck: 200 messages
// from stock smtp-source (about 20 s of load) through stock smtpd/cleanup and smtp to a sink,
// the qmgr worker killed every 0.3-1 s (bounded count), the master
// respawning it on the next trigger (start-up recovery moves active back to
// incoming). Afterwards every accepted queue ID reached the sink, active,
// incoming and deferred are empty, and (ours) the last qmgr serves the query
// socket again. Duplicates (a delivery done but not yet
// marked in the queue file when the qmgr died) are allowed by Postfix's
// at-least-once design; they are counted and printed, for our plugin and for
// stock's qmgr executable under the same kills on the same setup.
// Bounded: the kill phase ends after `kills` kills or 60 s; every wait is a
// bounded poll. service_throttle_time and the backoff times are short so a
// throttle or a deferral costs seconds, not minutes, for both queue managers.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class QmgrCrashSafetyTests: QmgrPluginTestCase {
    struct Figures: CustomStringConvertible {
        var kills = 0
        var accepted = 0
        var delivered = 0
        var duplicates = 0
        var description: String { "\(kills) kills, \(accepted) accepted, \(delivered) delivered, \(duplicates) duplicates" }
    }

    static let messages = 200
    static let kills = 15
    static let settings = ["service_throttle_time = 2s", "queue_run_delay = 5s", "minimal_backoff_time = 5s",
                           "maximal_backoff_time = 10s"]

    func testKillingTheQueueManagerUnderLoadLosesNothing() throws {
        let ours = try killUnderLoad(plugin: true)
        let stock = try killUnderLoad(plugin: false)
        let report = "qmgr crash safety (\(Self.messages) messages, up to \(Self.kills) SIGKILLs): ours: \(ours); stock qmgr: \(stock)"
        print(report)
        XCTAssertGreaterThan(ours.kills, Self.kills / 2, report)
        XCTAssertGreaterThan(stock.kills, Self.kills / 2, report)
    }

    /// One run: load, kills, then the checks; the figures for the report.
    func killUnderLoad(plugin: Bool) throws -> Figures {
        let label = plugin ? "our qmgr" : "stock qmgr"
        let sink = try makeSink { $0.dataDelay = 0.2 }
        let inst: PrivateInstance
        if plugin {
            inst = try startQmgrInstance(relayPort: sink.port, parameters: Self.settings)
        } else {
            inst = try makeInstance(relayPort: sink.port)
            try postconf(inst, ["-e"] + Self.settings)
            try inst.start()
        }
        let mark = inst.logMark()
        let source = try startSmtpSource(inst)
        defer { if source.isRunning { kill(source.processIdentifier, SIGKILL); source.waitUntilExit() } }

        var figures = Figures()
        let phaseEnd = Date().addingTimeInterval(60)
        while figures.kills < Self.kills && Date() < phaseEnd {
            usleep(useconds_t.random(in: 300_000...1_000_000))
            guard let pid = queueManager(inst, plugin: plugin) else { continue }
            if kill(pid, SIGKILL) == 0 { figures.kills += 1 }
        }
        XCTAssertTrue(waitUntil(timeout: 120, interval: 0.5) { !source.isRunning }, "\(label): smtp-source still running")
        source.waitUntilExit()
        XCTAssertEqual(source.terminationStatus, 0, "\(label): smtp-source failed")

        // cleanup's lines go through the logger: the last ones may land after smtp-source has exited.
        var accepted = Set<String>()
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) {
            accepted = Set(inst.logLines(since: mark, containing: "postfix/cleanup[").compactMap(Self.cleanupQueueID))
            return accepted.count >= Self.messages
        }, "\(label): \(accepted.count) accepted queue IDs logged")
        figures.accepted = accepted.count
        XCTAssertEqual(accepted.count, Self.messages, "\(label): accepted queue IDs")
        // A new message is the ordinary trigger that gets a qmgr spawned again.
        try submit(inst, to: "last@example.com", subject: "after-the-kills")
        let delivered = waitUntil(timeout: 180, interval: 0.5) {
            accepted.isSubset(of: Set(sink.messages.compactMap { Self.receivedQueueID($0.data) }))
        }
        let ids = sink.messages.compactMap { Self.receivedQueueID($0.data) }
        let missing = accepted.subtracting(ids)
        XCTAssertTrue(delivered, "\(label): \(missing.count) accepted messages never delivered: \(missing.sorted().prefix(20)); queue: \(inst.queuedFiles().prefix(20))")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 60), "\(label): left in the queue: \(inst.queuedFiles())")
        for queue in ["active", "incoming", "deferred"] {
            XCTAssertEqual(files(inst, in: queue), [], "\(label): left in \(queue)")
        }
        figures.delivered = Set(ids).intersection(accepted).count
        figures.duplicates = ids.filter { accepted.contains($0) }.count - figures.delivered
        print("\(label): \(figures)")
        if plugin {
            try assertPluginQmgr(inst)
            // The respawned qmgr made its query socket again (PRE_INIT replaces the killed one's).
            let tool = URL(fileURLWithPath: TestEnv.masterUnderTest).deletingLastPathComponent().appendingPathComponent("postfix").path
            let status = try runCommand(tool, ["-c", inst.etc, "status", "queues", "-j"], timeout: 30)
            XCTAssertEqual(status.status, 0, "postfix status queues after the kills: \(status.output)")
            XCTAssertTrue(status.output.hasPrefix("{\"version\":1,"), status.output)
        }
        inst.destroy()
        return figures
    }

    func startSmtpSource(_ inst: PrivateInstance) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/smtp-source")
        // 10 sessions, 1 s between messages: about 20 s of load, each message a
        // trigger that gets a killed qmgr spawned again.
        p.arguments = ["-s", "10", "-w", "1", "-m", String(Self.messages), "-f", "sender@example.com", "-t", "rcpt@example.com",
                       "127.0.0.1:\(inst.smtpPort)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// The running queue manager: our plugin worker, or stock's executable.
    func queueManager(_ inst: PrivateInstance, plugin: Bool) -> pid_t? {
        inst.children().first { pid in
            if plugin {
                return ((try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? "").contains(inst.libexec + "/qmgr.so")
            }
            return ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "")
                .hasSuffix("/postfix/sbin/qmgr")
        }
    }

    /// "postfix/cleanup[pid]: ID: message-id=<...>" -> ID.
    static func cleanupQueueID(_ line: String) -> String? {
        guard let r = line.range(of: #"\]: [0-9A-F]+: message-id="#, options: .regularExpression) else { return nil }
        return String(line[r].dropFirst(3).prefix { $0 != ":" })
    }

    /// The queue ID in the message's first Received header (cleanup's own).
    static func receivedQueueID(_ data: String) -> String? {
        guard let r = data.range(of: #"\(Postfix\) with E?SMTP id [0-9A-F]+"#, options: .regularExpression) else { return nil }
        return String(data[r].split(separator: " ").last ?? "")
    }
}
