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
    func statusQueues(_ inst: PrivateInstance) throws -> CommandResult {
        try runCommand(ourPostfixTool, ["-c", inst.etc, "status", "queues", "-j"], timeout: 30)
    }

    /// The inode of a socket file, or nil when there is none.
    func socketInode(_ path: String) -> ino_t? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return st.st_ino
    }

    /// connect(2)'s errno on the socket at `path` (0: connected).
    func connectErrno(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return connected < 0 ? errno : 0
    }

    /// Both files are sockets nobody listens on, and our tool says there is no query interface.
    func assertStale(_ inst: PrivateInstance, _ paths: [String], _ when: String) throws {
        for path in paths {
            XCTAssertNotNil(socketInode(path), "\(when): \(path) is left behind (the worker was no longer root)")
            XCTAssertEqual(connectErrno(path), ECONNREFUSED, "\(when): \(path) is stale")
        }
        let r = try statusQueues(inst)
        XCTAssertEqual(r.status, 1, "\(when): postfix status queues: \(r.output)")
    }

    func testStaleQuerySocketsReadAsAbsentAndAreReplacedByTheNextQmgr() throws {
        let inst = try startQmgrInstance()
        let paths = [inst.queue + "/pid/qmgr.query", inst.queue + "/pid/qmgr.metrics"]
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) { (try? self.statusQueues(inst).status) == 0 },
                      "the query interface answers")
        let first = try XCTUnwrap(qmgrWorker(inst))
        XCTAssertFalse(paths.map(socketInode).contains(nil), "both sockets exist")

        // SIGKILL: the worker cannot clean up. The master starts the next
        // qmgr on demand (as stock's does): until then the files are stale.
        XCTAssertEqual(kill(first, SIGKILL), 0)
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.1) { !Proc.isAlive(first) })
        try assertStale(inst, paths, "after SIGKILL")

        // New mail wakes the master's qmgr service; its PRE_INIT replaces both files.
        try submit(inst, to: "root@localhost", subject: "wake the qmgr")
        var second: pid_t?
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
            second = self.qmgrWorker(inst).flatMap { $0 == first ? nil : $0 }
            return second != nil && (try? self.statusQueues(inst).status) == 0
        }, "a new qmgr answers on the query socket\n\(inst.logTail(20))")
        // Stale files refuse connections: answering ones were made anew
        // (a new file may get the old inode number, so that proves nothing).
        XCTAssertEqual(paths.map(connectErrno), [0, 0], "the new qmgr listens on both")

        // Everything stopped: the files stay, nobody listens, readers say so.
        inst.stopAll()
        try assertStale(inst, paths, "after stop")
    }
}
