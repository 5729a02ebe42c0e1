// PluginWatchdogTests.swift - daemon_timeout bounds plugin code, as it bounds
// Postfix daemons: a worker stuck in SERVE is ended by its watchdog with
// stock's "fatal: watchdog timeout" (exit status 1) and the master reports
// it; the service goes on serving new clients. (The trigger and event models'
// watchdog: ABI11EventTests, ABI11TriggerTests.)
import Foundation
import XCTest
import TestSupport
import Glibc

final class PluginWatchdogTests: PluginTestCase {
    func testDaemonTimeoutEndsAStuckWorker() throws {
        let inst = try makeInstance()
        let path = try inst.installFixture("hang")
        try inst.installFixture("single_echo")
        try inst.appendMasterCf("""
            fxhang unix - n n - - hang -o daemon_timeout=2s
            fxecho unix - n n - - single_echo
            """)
        try inst.start()
        let mark = inst.logMark()
        let stuck = try XCTUnwrap(UnixSocket.connect(inst.socket("fxhang")))
        defer { close(stuck) }
        _ = Wire.send(stuck, "anything\n")
        XCTAssertNotNil(inst.waitForLog("/hang[", "fatal: watchdog timeout", since: mark, timeout: 15),
                        "no watchdog message from the stuck worker")
        XCTAssertNotNil(inst.waitForLog("process \(path) pid", "exit status 1", since: mark, timeout: 15),
                        "the stuck worker was not ended by daemon_timeout")
        let fd = try XCTUnwrap(UnixSocket.connect(inst.socket("fxecho")))
        defer { close(fd) }
        XCTAssertEqual(Wire.exchange(fd, "alive\n"), "alive\n")
    }
}
