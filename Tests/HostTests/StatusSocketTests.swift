// StatusSocketTests.swift - our master's pid/master.status report (beyond stock).
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class StatusSocketTests: InstanceTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        if TestEnv.isStockMaster { XCTFail("the status socket is ours: run with our master") }
    }

    private func report(_ path: String) throws -> [String] {
        try UnixSocket.readLines(path)
    }

    /// The `key=value` fields of a report line after its first word (MetricsSocketTests uses it too).
    static func fields(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        for word in line.split(separator: " ").dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    private func fields(_ line: String) -> [String: String] { Self.fields(line) }

    func testReportListsServicesWithProcessesThrottleAndWakeups() throws {
        let inst = try makeInstance()
        let port = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(port) inet n - n - - nosuchdaemon")
        try inst.start()
        let path = inst.queue + "/pid/master.status"
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "status socket must be root-only")

        let first = try report(path)
        let master = fields(try XCTUnwrap(first.first { $0.hasPrefix("master ") }))
        XCTAssertEqual(master["pid"].flatMap { pid_t($0) }, inst.masterPid())
        XCTAssertEqual(master["version"], "3.7.11")
        let pickup = fields(try XCTUnwrap(first.first { $0.contains(" name=pickup ") }))
        XCTAssertEqual(pickup["limit"], "1")
        let wakeup = try XCTUnwrap(pickup["wakeup"].flatMap { Int($0) }, "pickup has a periodic wakeup")
        XCTAssertTrue((0...60).contains(wakeup), "next pickup wakeup in \(wakeup)s")

        // A client on the broken service makes it fail and be throttled.
        _ = Net.connect(port: port, timeout: 2)
        XCTAssertNotNil(inst.waitForLog("nosuchdaemon: bad command startup -- throttling", timeout: 15))
        let broken = fields(try XCTUnwrap(try report(path).first { $0.contains(" name=127.0.0.1:\(port) ") }))
        XCTAssertEqual(broken["throttled"], "yes")
        XCTAssertEqual(broken["program"], "executable")
        XCTAssertEqual(broken["path"], inst.libexec + "/nosuchdaemon")

        // qmgr was woken at start-up, so one process exists and it is idle.
        let qmgr = fields(try XCTUnwrap(try report(path).first { $0.contains(" name=qmgr ") }))
        XCTAssertEqual(qmgr["total"], "1")
        XCTAssertEqual(qmgr["busy"], "0")
    }
}
