// SignalsAroundForkTests.swift - a child must never inherit the master's
// signal handlers, not even between fork and exec.
//
// The window is made wide on purpose: a service whose command does not exist
// leaves its child between a failed execve and its exit (it logs the stock
// fatal text and sleeps a second). A SIGTERM sent in that second must end the
// child at once, by that signal; a child still running the master's handler
// would swallow it (the byte goes into the master's self-pipe) and exit 1
// later, as if nothing had been sent. A process-group SIGTERM from
// `postfix stop` meets every fresh child in the same state.
import Foundation
import XCTest
import Glibc
import TestSupport

final class SignalsAroundForkTests: InstanceTestCase {
    func testSigtermReachesAChildBeforeExec() throws {
        let inst = try makeInstance()
        let port = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(port) inet n - n - - nosuchdaemon")
        try inst.start()
        let master = try XCTUnwrap(inst.masterPid(), "master not running")
        // Let start-up settle first: the master's own start line has gone
        // through postlogd, so no other service's child is between fork and
        // exec (CI under ASan once picked postlogd in that state).
        XCTAssertNotNil(inst.waitForLog("daemon started", timeout: 30), "the master's start line never reached the log")
        let mark = inst.logMark()
        let listener = try XCTUnwrap(Self.listenerInode(port: port), "no listening socket on 127.0.0.1:\(port)")

        guard case .connected(let client) = Net.connect(port: port) else {
            return XCTFail("listener 127.0.0.1:\(port) of nosuchdaemon not open")
        }
        defer { close(client) }
        // The child for nosuchdaemon never execs: it still has the master's
        // command line, and only it holds this service's listener at fd 6.
        let masterCommand = Proc.cmdline(master)
        var child: pid_t = 0
        _ = waitUntil(timeout: 10, interval: 0.005) {
            child = Proc.children(of: master).first {
                Proc.cmdline($0) == masterCommand && Self.descriptor6($0) == "socket:[\(listener)]"
            } ?? 0
            return child != 0
        }
        XCTAssertNotEqual(child, 0, "the master forked no child for nosuchdaemon")
        XCTAssertEqual(kill(child, SIGTERM), 0, "kill \(child): errno \(errno)")

        let line = inst.waitForLog("process ", "pid \(child) ", since: mark, timeout: 15)
        XCTAssertNotNil(line, "the master logged no exit for child \(child)")
        XCTAssertTrue(line?.contains("killed by signal 15") == true,
                      "child \(child) did not die by the SIGTERM sent after fork: \(line ?? "-")")
        XCTAssertEqual(inst.masterPid(), master, "master died")
    }

    /// The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp.
    private static func listenerInode(port: Int) -> String? {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return nil }
        let local = String(format: "0100007F:%04X", port)
        for line in table.split(separator: "\n") {
            let columns = line.split(separator: " ")
            // sl, local, remote, st (0A = LISTEN), queues, tr, retrnsmt, uid, timeout, inode
            if columns.count > 9 && columns[1] == local && columns[3] == "0A" { return String(columns[9]) }
        }
        return nil
    }

    /// Where /proc/PID/fd/6 points, or nil.
    private static func descriptor6(_ pid: pid_t) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink("/proc/\(pid)/fd/6", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
