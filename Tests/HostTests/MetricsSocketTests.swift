// MetricsSocketTests.swift - the master's second status socket,
// pid/master.metrics (owned by mail_owner, mode 0600), and the per-service
// spawn and abnormal-exit counters both status sockets report
// (Sources/Host/MetricsReport.swift).
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class MetricsSocketTests: InstanceTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        if TestEnv.isStockMaster { XCTFail("the status sockets are ours: run with our master") }
    }

    private func serviceFields(_ path: String, _ name: String) throws -> [String: String] {
        StatusSocketTests.fields(try XCTUnwrap(try UnixSocket.readLines(path).first { $0.contains(" name=\(name) ") }, "\(name) in \(path)"))
    }

    func testMailOwnerSocketAndSpawnAndExitCounters() throws {
        let inst = try makeInstance()
        let port = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(port) inet n - n - - nosuchdaemon")
        try inst.start()
        let metrics = inst.queue + "/pid/master.metrics"
        let owner = try XCTUnwrap(getpwnam("postfix"), "the postfix user (the instance's mail_owner)")
        var info = stat()
        XCTAssertEqual(stat(metrics, &info), 0, "\(metrics) exists")
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(info.st_uid, owner.pointee.pw_uid, "owned by mail_owner")
        XCTAssertEqual(stat(inst.queue + "/pid/master.status", &info), 0)
        XCTAssertEqual(info.st_uid, 0, "the root-only socket stays root's")

        // qmgr was spawned once and has not failed.
        let qmgr = try serviceFields(metrics, "qmgr")
        XCTAssertEqual(qmgr["spawns"], "1")
        XCTAssertEqual(qmgr["exit_signals"], "-")
        XCTAssertEqual(qmgr["exit_statuses"], "-")

        // A daemon that cannot start exits with a status; one killed by a
        // signal counts under that signal; both sockets say the same.
        _ = Net.connect(port: port, timeout: 2)
        XCTAssertNotNil(inst.waitForLog("nosuchdaemon: bad command startup -- throttling", timeout: 15))
        let broken = try serviceFields(metrics, "127.0.0.1:\(port)")
        XCTAssertEqual(broken["spawns"], "1")
        XCTAssertTrue(broken["exit_statuses"]?.hasSuffix(":1") ?? false, "one exit with a status: \(broken)")

        let master = try XCTUnwrap(inst.masterPid())
        let qmgrPid = try XCTUnwrap(Proc.children(of: master).first { Proc.cmdline($0).first?.hasSuffix("qmgr") ?? false },
                                    "the qmgr process")
        kill(qmgrPid, SIGKILL)
        var killed: [String: String] = [:]
        XCTAssertTrue(try waitUntil(timeout: 20, interval: 0.2) {
            killed = try serviceFields(metrics, "qmgr")
            return killed["exit_signals"] == "9:1"
        }, "qmgr killed by signal 9 is counted: \(killed)")
        XCTAssertEqual(try serviceFields(inst.queue + "/pid/master.status", "qmgr")["exit_signals"], "9:1")
    }
}
