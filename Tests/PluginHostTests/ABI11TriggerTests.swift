// ABI11TriggerTests.swift - ABI 1.1 in the trigger model, the model of
// qmgr(8) (`qmgr unix n - n 300 1 qmgr`), with Fixtures/abi11_trigger.c:
// watches and timers working between wakeups, the loop hook, the solitary
// long-lived declaration outliving max_idle and max_use (and refused with
// stock's fatal text under a process limit other than 1), and the trigger
// model's watchdog: stock's 1000 s unless the plugin sets its own, never
// daemon_timeout.
import Foundation
import XCTest
import TestSupport
import Glibc

final class ABI11TriggerTests: PluginTestCase {
    private func wake(_ inst: PrivateInstance, _ service: String, _ byte: String) throws {
        let fd = try unixFD(inst.socket(service))
        XCTAssertTrue(Wire.send(fd, byte))
        close(fd)
    }

    private func lines(_ out: String) -> [String] {
        ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits for a line of `out` ending in `suffix`; returns the pid that wrote it.
    @discardableResult
    private func waitForLine(_ out: String, _ suffix: String, timeout: TimeInterval = 15,
                             file: StaticString = #filePath, line: UInt = #line) -> String? {
        var found: String?
        waitUntil(timeout: timeout, interval: 0.1) {
            found = lines(out).last { $0.hasSuffix(" " + suffix) }.map { String($0.prefix { $0 != " " }) }
            return found != nil
        }
        XCTAssertNotNil(found, "no \"\(suffix)\" in \(out): \(lines(out))", file: file, line: line)
        return found
    }

    /// Watches and timers between wakeups: the watch sees what a timer wrote,
    /// a cancelled timer never runs; the loop hook runs in this model too.
    func testTriggerModelWatchesTimersAndLoopHook() throws {
        let inst = try makeInstance()
        try inst.installFixture("abi11_trigger")
        let out = inst.dir + "/abi11.out"
        try inst.appendMasterCf("fxq unix - n n - 1 abi11_trigger long -o fixture_trigger_file=\(out)")
        try inst.start()
        try wake(inst, "fxq", "w")
        let pid = waitForLine(out, "w read=0x1 cancelled=0")
        XCTAssertEqual(waitForLine(out, "w done late=0"), pid)
        try wake(inst, "fxq", "c")
        var hook: Int?
        waitUntil(timeout: 15) {
            hook = lines(out).last { $0.contains(" c hook=") }.flatMap { Int($0.split(separator: "=").last ?? "") }
            return hook != nil
        }
        XCTAssertGreaterThan(hook ?? 0, 0, "the loop hook never ran in the trigger model: \(lines(out))")
    }

    /// Declared solitary and long-lived, the worker serves every wakeup as
    /// the same process past max_idle and max_use; undeclared, max_idle ends
    /// it as it ends a stock daemon.
    func testLongLivedWorkerOutlivesMaxIdleAndMaxUse() throws {
        let inst = try makeInstance()
        try inst.installFixture("abi11_trigger")
        let long = inst.dir + "/long.out", mortal = inst.dir + "/mortal.out"
        try inst.appendMasterCf("""
            fxlong unix - n n - 1 abi11_trigger long -o fixture_trigger_file=\(long) -o max_idle=2s -o max_use=1
            fxmortal unix - n n - 1 abi11_trigger mortal -o fixture_trigger_file=\(mortal) -o max_idle=2s
            """)
        try inst.start()
        for service in ["fxlong", "fxmortal"] { try wake(inst, service, "p") }
        let longPid = waitForLine(long, "p")
        let mortalPid = waitForLine(mortal, "p")
        try wake(inst, "fxlong", "p")
        try wake(inst, "fxlong", "p")
        Thread.sleep(forTimeInterval: 5)
        for service in ["fxlong", "fxmortal"] { try wake(inst, service, "p") }
        XCTAssertTrue(waitUntil(timeout: 15) { lines(long).filter { $0.hasSuffix(" p") }.count == 4 }, "\(lines(long))")
        XCTAssertTrue(waitUntil(timeout: 15) { lines(mortal).filter { $0.hasSuffix(" p") }.count == 2 }, "\(lines(mortal))")
        XCTAssertEqual(Set(lines(long).map { $0.prefix { $0 != " " } }), [Substring(longPid ?? "?")],
                       "the long-lived worker exited: \(lines(long))")
        XCTAssertEqual(lines(long).filter { $0.hasSuffix(" init long") }.count, 1)
        XCTAssertNotEqual(lines(mortal).last?.prefix { $0 != " " }, mortalPid.map { Substring($0) },
                          "without the declaration max_idle must end the worker: \(lines(mortal))")
    }

    /// MH_DECLARE_SOLITARY under a process limit of 2: stock's fatal text.
    func testSolitaryRequiresAProcessLimitOfOne() throws {
        let inst = try makeInstance()
        try inst.installFixture("abi11_trigger")
        try inst.appendMasterCf("fxtwo unix - n n - 2 abi11_trigger long -o fixture_trigger_file=\(inst.dir)/two.out")
        try inst.start()
        let mark = inst.logMark()
        try wake(inst, "fxtwo", "p")
        XCTAssertNotNil(inst.waitForLog("/abi11_trigger[", "fatal: service abi11_trigger requires a process limit of 1",
                                        since: mark, timeout: 15), inst.log(since: mark))
    }

    /// The trigger model's watchdog is the plugin's (set_watchdog from a
    /// parameter read with param_checked, as qmgr uses qmgr_daemon_timeout),
    /// and, unset, stock's 1000 s: daemon_timeout does not bound it.
    func testTriggerWatchdogIsThePluginsAndNotDaemonTimeout() throws {
        let inst = try makeInstance()
        try inst.installFixture("abi11_trigger")
        let out = inst.dir + "/wd.out"
        try inst.appendMasterCf("""
            fxwd unix - n n - 1 abi11_trigger long -o fixture_trigger_file=\(out) -o fixture_daemon_timeout=2s
            fxslow unix - n n - 1 abi11_trigger mortal -o fixture_trigger_file=\(out) -o daemon_timeout=1s
            """)
        try inst.start()
        let mark = inst.logMark()
        try wake(inst, "fxslow", "s")
        waitForLine(out, "s slept")
        try wake(inst, "fxwd", "h")
        XCTAssertNotNil(inst.waitForLog("/abi11_trigger[", "fatal: watchdog timeout", since: mark, timeout: 20),
                        inst.log(since: mark))
        XCTAssertEqual(inst.logLines(since: mark, containing: "watchdog timeout").count, 1,
                       "daemon_timeout ended a trigger-model callback: \(inst.log(since: mark))")
    }
}
