// QueueStatusToolTests: `postfix status queues` (our postfix(1)) against a
// running instance of our master, with the document fully under the test's
// control (QmgrPluginTests.QueryInterfaceTests runs it against the real
// qmgr plugin): this test process serves, on the instance's
// pid/qmgr.query, the document of a real scheduler with a busy transport and
// a throttled destination. Checked: the table shows the occupancy, the busy
// transport, the throttled site with its reason and retry time, and the job;
// -j/--json prints the document unchanged; without the socket the command
// names the path and exits 1; bad options print the usage.
import Foundation
import XCTest
import Glibc
import TestSupport
import QmgrQuery

final class QueueStatusToolTests: XCTestCase {
    var instance: PrivateInstance?
    let loop = PollLoop()

    override func tearDown() { instance?.destroy() }

    var postfixTool: String {
        URL(fileURLWithPath: TestEnv.masterUnderTest).deletingLastPathComponent().appendingPathComponent("postfix").path
    }

    /// Runs our postfix(1) while this process's loop serves; stdout, stderr, status.
    func postfix(_ words: [String], in instance: PrivateInstance) throws -> (out: String, err: String, status: Int32) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: postfixTool)
        p.arguments = ["-c", instance.etc] + words
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        guard loop.run(until: { !p.isRunning }, seconds: 30) else {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw HarnessError("postfix \(words) hung")
        }
        p.waitUntilExit()
        return (String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), p.terminationStatus)
    }

    func testQueueTablesAndJSONFromTheQuerySocket() throws {
        try TestEnv.requirements()
        let instance = try PrivateInstance()
        self.instance = instance
        try instance.start()
        let socketPath = QuerySocket.path(queueDirectory: instance.queue)

        let absent = try postfix(["status", "queues"], in: instance)
        XCTAssertEqual(absent.status, 1)
        // postfix(1) logs to stderr only on a terminal; the instance's maillog has every line.
        XCTAssertNotNil(instance.waitForLog("warning: no query interface at \(socketPath): is the mailhost qmgr plugin running?",
                                            timeout: 10), instance.logTail())

        let scheduler = try SchedulerState.busyAndThrottled()
        let generated = Double(time(nil))
        let document = QueryDocument.json(scheduler.snapshot(now: 1), schedulerNow: 1, unixNow: generated)
        let server = QueryServer(listener: try QuerySocket.listen(path: socketPath), loop: loop.queryLoop,
                                 warn: { XCTFail($0) }, document: { document })
        try server.start()
        defer { server.stop() }

        let json = try postfix(["status", "queues", "--json"], in: instance)
        XCTAssertEqual(json.status, 0, json.err)
        XCTAssertEqual(json.out, document + "\n")
        XCTAssertEqual(try postfix(["status", "queues", "-j"], in: instance).out, document + "\n")

        let table = try postfix(["status", "queues"], in: instance)
        XCTAssertEqual(table.status, 0, table.err)
        let lines = table.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("active queue: 1/20000 messages, 3/20000 recipients (at ") == true, table.out)
        func row(_ prefix: String) -> [String]? {
            lines.first { $0.hasPrefix(prefix + " ") }.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        }
        XCTAssertEqual(row("TRANSPORT"), ["TRANSPORT", "STATE", "LIMIT", "BUSY", "PENDING", "TODO", "RETRY", "REASON"])
        XCTAssertEqual(row("smtp")?.prefix(6), ["smtp", "ready", "20", "1", "0", "2"], table.out)
        let down = try XCTUnwrap(lines.first { $0.hasPrefix("smtp:down.example ") }, table.out)
        XCTAssertTrue(down.contains(" throttled "), down)
        XCTAssertTrue(down.contains("(+300s)"), "retried 300 s after the report: \(down)")
        XCTAssertTrue(down.hasSuffix("4.4.1 delivery temporarily suspended: no route"), down)
        XCTAssertEqual(row("smtp:up.example")?.prefix(6), ["smtp:up.example", "ready", "1/20", "1", "2", "(2"], table.out)
        let job = try jobFields(document)
        XCTAssertEqual(row("A"), ["A", "smtp", "current", "\(job["slots_used"] ?? -1)/\(job["slots_available"] ?? -1)", "2/4",
                                  "3/\(job["recipient_limit"] ?? -1)"], table.out)

        let usage = try postfix(["status", "queues", "-x"], in: instance)
        XCTAssertEqual(usage.status, 1)
        XCTAssertNotNil(instance.waitForLog("fatal: usage: postfix status queues [-j | --json]", timeout: 10), instance.logTail())
    }

    /// The job's slot and limit fields as the document has them (the table must agree).
    func jobFields(_ document: String) throws -> [String: Int] {
        let transports = try XCTUnwrap(JSONValue.parse(document)["transports"]?.array)
        let job = try XCTUnwrap(transports.first { $0["name"]?.string == "smtp" }?["jobs"]?.array?.first)
        var fields: [String: Int] = [:]
        for name in ["slots_used", "slots_available", "recipient_limit"] { fields[name] = job[name]?.int }
        return fields
    }
}
