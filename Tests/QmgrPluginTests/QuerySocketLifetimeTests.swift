// QuerySocketLifetimeTests - what pid/qmgr.query and pid/qmgr.metrics are
// once the qmgr worker that made them is gone. The worker makes them as root
// in PRE_INIT and cannot remove them after its privilege drop (pid/ is
// root's), so they stay behind as sockets nobody listens on: stale. The
// readers treat stale as absent (connect gets ECONNREFUSED): our `postfix
// status queues` says there is no query interface (status 1), and the
// metrics plugin reports `mailhost_qmgr_up 0` as for any socket it cannot
// read (MetricsQmgrTests shows that case); the next qmgr replaces both
// files. Shown here with the qmgr worker killed by SIGKILL (the master
// starts a new one) and with the whole mail system stopped.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class QuerySocketLifetimeTests: QmgrPluginTestCase {
    var postfixTool: String {
        URL(fileURLWithPath: TestEnv.masterUnderTest).deletingLastPathComponent().appendingPathComponent("postfix").path
    }

    func statusQueues(_ inst: PrivateInstance) throws -> CommandResult {
        try runCommand(postfixTool, ["-c", inst.etc, "status", "queues", "-j"], timeout: 30)
    }

    /// The inode of a socket file, or nil when there is none.
    func socketInode(_ path: String) -> ino_t? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return st.st_ino
    }

    func testStaleQuerySocketsReadAsAbsentAndAreReplacedByTheNextQmgr() throws {
        let inst = try startQmgrInstance()
        let query = inst.queue + "/pid/qmgr.query", metrics = inst.queue + "/pid/qmgr.metrics"
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { (try? self.statusQueues(inst).status) == 0 },
                      "the query interface answers")
        let first = try XCTUnwrap(qmgrWorker(inst))
        let firstSockets = [socketInode(query), socketInode(metrics)]
        XCTAssertFalse(firstSockets.contains(nil), "both sockets exist")

        // SIGKILL: the worker cannot clean up; the master starts a new qmgr,
        // whose PRE_INIT replaces both files.
        XCTAssertEqual(kill(first, SIGKILL), 0)
        var second: pid_t?
        XCTAssertTrue(waitUntil(timeout: 90, interval: 0.2) {
            second = self.qmgrWorker(inst).flatMap { $0 == first ? nil : $0 }
            return second != nil && (try? self.statusQueues(inst).status) == 0
        }, "a new qmgr answers on the query socket\n\(inst.logTail(20))")
        XCTAssertNotEqual([socketInode(query), socketInode(metrics)], firstSockets, "the files were made anew")

        // Everything stopped: the files stay, nobody listens, readers say so.
        inst.stopAll()
        XCTAssertNotNil(socketInode(query), "pid/qmgr.query is left behind (the worker was no longer root)")
        XCTAssertNotNil(socketInode(metrics))
        for path in [query, metrics] {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            XCTAssertEqual(connected < 0 ? errno : 0, ECONNREFUSED, "\(path) is stale")
        }
        let stale = try statusQueues(inst)
        XCTAssertEqual(stale.status, 1, stale.output)
        XCTAssertTrue(stale.output.contains("no query interface at ") && stale.output.contains("pid/qmgr.query"), stale.output)
    }
}
