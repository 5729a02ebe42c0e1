// ABI11EventTests.swift - the ABI 1.1 host functions against the real master,
// in the event model (Fixtures/abi11_event.c; its requests are listed there):
// watches with event masks on a socket pair, timers with ids and cancel, the
// loop hook, param_checked, every new function refused on bad input while
// the worker goes on, refusal outside the models that offer them, and the
// watchdog ending a stuck callback with stock's message.
import Foundation
import XCTest
import TestSupport
import Glibc

final class ABI11EventTests: PluginTestCase {
    private func startEventFixture(_ options: String = "") throws -> (PrivateInstance, Int32) {
        let inst = try makeInstance()
        try inst.installFixture("abi11_event")
        try inst.appendMasterCf("fx11 unix - n n - 1 abi11_event \(options)")
        try inst.start()
        return (inst, try unixFD(inst.socket("fx11")))
    }

    /// One watch, both directions: WRITE alone, then READ alone after
    /// watch_mask, both at once after a second watch, the peer's hang-up as
    /// HUP (with READ: end of file), and nothing after unwatch.
    func testWatchReportsEventMasksOnASocketPair() throws {
        let (_, fd) = try startEventFixture()
        defer { close(fd) }
        XCTAssertEqual(try request(fd, "pair"), "pair: write=0x2 read=0x1 both=0x3 hup=0x5 after=0")
    }

    /// Timers run in deadline order, a cancelled one never, cancelling again
    /// or after the run says "not pending" (1), and ids are never reused.
    func testTimersRunInOrderAndCancelledOnesNever() throws {
        let (_, fd) = try startEventFixture()
        defer { close(fd) }
        var previous: UInt64 = 0
        for _ in 0..<2 {
            let answer = try request(fd, "timers")
            let fields = answer.split(separator: " ")
            XCTAssertEqual(fields.dropFirst(2).joined(separator: " "), "cancel=0,1 order=21 late=1", answer)
            let ids = fields.first { $0.hasPrefix("ids=") }.map { $0.dropFirst(4).split(separator: ",").compactMap { UInt64($0) } } ?? []
            XCTAssertEqual(ids.count, 3, answer)
            XCTAssertTrue(ids.allSatisfy { $0 > previous } && Set(ids).count == 3, "ids reused or zero: \(answer)")
            previous = ids.max() ?? previous
        }
    }

    /// The hook runs once per loop iteration before the wait, and its
    /// result bounds the wait: at 50 ms the idle loop keeps turning; at -1
    /// (or with no hook) an idle worker sleeps.
    func testLoopHookRunsEachIterationAndBoundsTheWait() throws {
        let (_, fd) = try startEventFixture()
        defer { close(fd) }
        func count() throws -> Int { Int(try request(fd, "count").dropFirst("count: ".count)) ?? -1 }
        XCTAssertEqual(try request(fd, "hook 50"), "hook: 0")
        let start = try count()
        Thread.sleep(forTimeInterval: 1.5)
        let ticking = try count() - start
        XCTAssertGreaterThanOrEqual(ticking, 6, "a hook returning 50 ms must run while idle")
        XCTAssertLessThanOrEqual(ticking, 40, "the hook ran more often than the wait it asked for")
        XCTAssertEqual(try request(fd, "hook -1"), "hook: 0")
        let idle = try count()
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertLessThanOrEqual(try count() - idle, 3, "a hook returning -1 must let the worker sleep")
        XCTAssertEqual(try request(fd, "nohook"), "nohook: 0")
        let removed = try count()
        XCTAssertEqual(try count(), removed, "a removed hook still runs")
    }

    /// param_checked: stock's complaint comes back as text, the worker goes on.
    func testParamCheckedReturnsStocksComplaintInsteadOfEnding() throws {
        let (inst, fd) = try startEventFixture("-o fx_int=abc -o fx_time=5s -o fx_bool=yes -o fx_small=12")
        defer { close(fd) }
        let mark = inst.logMark()
        XCTAssertEqual(try request(fd, "params"), "params: -1,-7,[bad numerical configuration: fx_int = abc] "
                       + "-1,-7,[invalid fx_time: 5 (min 10)] 0,1 -1,-7,[invalid fx_small parameter value 12 > 9] "
                       + "-1,-7,[invalid fx_unset: 120 (max 60)] 0,120")
        XCTAssertTrue(try request(fd, "count").hasPrefix("count: "), "the worker did not go on")
        XCTAssertTrue(inst.logLines(since: mark, containing: "fatal:").isEmpty, inst.log(since: mark))
    }

    /// Every 1.1 function refuses bad input with the host's refusal line
    /// and its failure value; the same worker then goes on serving.
    func testEveryNewFunctionRefusesBadInput() throws {
        let (inst, fd) = try startEventFixture()
        defer { close(fd) }
        let mark = inst.logMark()
        XCTAssertEqual(try request(fd, "misuse"), "misuse: -1,-1,-1,-1,-1,-1,-1,-1,-1,0,0,-1,-1,-1,-1,-2,-2")
        let refusals = [
            ("watch", "descriptor 5 is not the plugin's"), ("watch", "descriptor 6 is not the plugin's"),
            ("watch", "descriptor -1 is not the plugin's"), ("watch", "descriptor 1000000: "),
            ("watch", "bad event mask 0x0"), ("watch", "bad event mask 0x4"), ("watch", "NULL callback"),
            ("watch_mask", "descriptor 0 is not watched"), ("watch_mask", "descriptor 5 is not the plugin's"),
            ("timer_start", "NULL callback"), ("timer_start", "negative time -5 ms"),
            ("timer_cancel", "unknown timer id 0"), ("timer_cancel", "unknown timer id 999999"),
            ("declare", "unknown flags 0x80"), ("set_watchdog", "bad time 0 s"),
            ("param_checked", "unknown kind 9"), ("param_checked", "NULL value pointer"),
        ]
        for (function, reason) in refusals {
            XCTAssertNotNil(inst.waitForLog("error: plugin called \(function): \(reason)", "-- refused", since: mark, timeout: 10),
                            "no refusal of \(function): \(reason)")
        }
        XCTAssertEqual(try request(fd, "pair"), "pair: write=0x2 read=0x1 both=0x3 hup=0x5 after=0",
                       "the worker does not go on after the refusals")
    }

    /// Outside the models that offer MH_CAP_EVENTS the event functions are
    /// refused by name; MH_CAP_LIFECYCLE works in every model.
    func testEventFunctionsAreRefusedInTheSingleModel() throws {
        let inst = try makeInstance()
        try inst.installFixture("abi11_single")
        try inst.appendMasterCf("fx11s unix - n n - 1 abi11_single")
        try inst.start()
        let mark = inst.logMark()
        let fd = try unixFD(inst.socket("fx11s"))
        defer { close(fd) }
        XCTAssertEqual(Wire.read(fd, until: "\n"), "-1,-1,0,-1,-1,0,0\n")
        for function in ["watch", "watch_mask", "timer_start", "timer_cancel", "loop_hook"] {
            XCTAssertNotNil(inst.waitForLog("error: plugin called \(function): not available in the single server model -- refused",
                                            since: mark, timeout: 10), function)
        }
    }

    /// A callback that runs past the watchdog time (set_watchdog) ends the
    /// worker with stock's "fatal: watchdog timeout" and exit status 1.
    func testWatchdogEndsAStuckTimerCallbackWithStocksMessage() throws {
        let (inst, fd) = try startEventFixture("-o fixture_watchdog=2")
        defer { close(fd) }
        let mark = inst.logMark()
        XCTAssertTrue(Wire.send(fd, "hang\n"))
        XCTAssertNotNil(inst.waitForLog("/abi11_event[", "fatal: watchdog timeout", since: mark, timeout: 20),
                        "no watchdog message: \(inst.log(since: mark))")
        XCTAssertNotNil(inst.waitForLog("process ", "abi11_event.so pid", "exit status 1", since: mark, timeout: 15),
                        "the master did not see the worker exit with status 1")
    }
}
