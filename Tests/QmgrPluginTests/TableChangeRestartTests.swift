// TableChangeRestartTests - stock qmgr(8) restarts when a table it read at
// start-up changes ("table ... has changed -- restarting", checked at each
// wakeup); ours must too, with the same line, and the wakeup that found the
// change must still get its mail delivered at once (stock leaves it
// unaccepted for its successor; ours sends it again), not at the master's
// next wakeup 300 s later. The table is fast_flush_domains's hash table
// (or a unionmap's member), rebuilt with stock postmap while the instance
// runs.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class TableChangeRestartTests: QmgrPluginTestCase {
    func testARebuiltTableRestartsTheQueueManagerAsStockDoes() throws {
        try assertRestart(fastFlushDomains: { "hash:\($0)/flushdomains" },
                          line: "table hash:ETC/flushdomains(0,lock|utf8_request) has changed -- restarting")
    }

    /// A unionmap's member is watched too, named as stock registers it:
    /// "type:name", without the list's flags.
    func testARebuiltUnionMemberRestartsTheQueueManagerAsStockDoes() throws {
        try assertRestart(fastFlushDomains: { "unionmap:{static:x, hash:\($0)/flushdomains}" },
                          line: "table hash:ETC/flushdomains has changed -- restarting")
    }

    /// Stock qmgr and ours with `fastFlushDomains(etc)`: rebuilding its
    /// hash table restarts each, with `line` (ETC for the configuration
    /// directory), and the mail that woke the old one is delivered.
    private func assertRestart(fastFlushDomains: @escaping (String) -> String, line expected: String) throws {
        var restartLines: [QueueManager: [String]] = [:]
        for manager in QueueManager.allCases {
            let sink = try makeSink()
            let inst = try startInstance(manager, relayPort: sink.port) { inst in
                try self.buildTable(inst, "a.example OK\n", age: 100)
                return ["fast_flush_domains = \(fastFlushDomains(inst.etc))"]
            }
            defer { inst.stopAll() }
            let running = { manager == .stock ? self.stockQmgr(inst) : self.qmgrWorker(inst) }
            let first = try XCTUnwrap(running(), "\(manager): no queue manager")
            try submit(inst, to: "one@example.com", subject: "\(manager)-before")
            XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) { sink.messages.count == 1 }, "\(manager): \(inst.logTail(20))")
            XCTAssertEqual(running(), first, "\(manager): an unchanged table keeps the queue manager")

            try buildTable(inst, "a.example OK\nb.example OK\n", age: 0)
            try submit(inst, to: "two@example.com", subject: "\(manager)-after")
            XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) {
                sink.messages.count == 2 && (running().map { $0 != first } ?? false)
            }, "\(manager): the mail that woke the old queue manager was not delivered by a new one\n\(inst.logTail(30))")
            XCTAssertTrue(kill(first, 0) != 0, "\(manager): the old queue manager \(first) still runs")
            XCTAssertNotNil(inst.waitForLog("/qmgr[\(first)]: ", "has changed -- restarting", timeout: 30),
                            "\(manager): \(inst.logTail(20))")
            // (cleanup and smtp read fast_flush_domains too, and restart as well.)
            restartLines[manager] = inst.logLines(containing: "has changed -- restarting").filter { $0.contains("/qmgr[") }.map { line in
                XCTAssertTrue(line.contains("/qmgr[\(first)]: "), "\(manager): \(line)")
                let text = line.components(separatedBy: "]: ").dropFirst().joined(separator: "]: ")
                return text.replacingOccurrences(of: inst.etc, with: "ETC")
            }
        }
        XCTAssertEqual(restartLines[.ours], [expected])
        XCTAssertEqual(restartLines[.ours], restartLines[.stock], "the same line as stock's")
    }

    /// fast_flush_domains's table, built with stock postmap, its .db file's
    /// time set `age` seconds back (stock compares whole seconds).
    private func buildTable(_ inst: PrivateInstance, _ source: String, age: Int) throws {
        try source.write(toFile: inst.etc + "/flushdomains", atomically: true, encoding: .utf8)
        let r = try runCommand("/usr/sbin/postmap", ["-c", inst.etc, "hash:\(inst.etc)/flushdomains"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.output)
        let then = time(nil) - age
        var times = [timeval(tv_sec: then, tv_usec: 0), timeval(tv_sec: then, tv_usec: 0)]
        XCTAssertEqual(utimes(inst.etc + "/flushdomains.db", &times), 0)
    }
}
