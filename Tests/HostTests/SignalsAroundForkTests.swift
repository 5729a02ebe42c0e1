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
        // Let the start-up children (pickup, qmgr) appear first.
        _ = waitUntil(timeout: 5) { inst.children().count >= 2 }
        let before = Set(Proc.children(of: master))
        let mark = inst.logMark()

        guard case .connected(let client) = Net.connect(port: port) else {
            return XCTFail("listener 127.0.0.1:\(port) of nosuchdaemon not open")
        }
        defer { close(client) }
        // The child for nosuchdaemon never execs: it still has the master's command line.
        let masterCommand = Proc.cmdline(master)
        var child: pid_t = 0
        _ = waitUntil(timeout: 5, interval: 0.005) {
            child = Proc.children(of: master).first { !before.contains($0) && Proc.cmdline($0) == masterCommand } ?? 0
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
}
