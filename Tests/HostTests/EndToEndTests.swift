// End-to-end tests: the master under test (MAILHOST_MASTER, else
// .build/debug/master) runs a private Postfix instance of stock daemons on
// loopback. See PrivateInstance.swift. Need root and the postfix package; they
// fail, never skip, when either is missing.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class EndToEndTests: XCTestCase {
    var instance: PrivateInstance?
    var sink: SmtpSink?

    override func setUpWithError() throws {
        continueAfterFailure = false
        try TestEnv.requirements()
    }

    override func tearDown() {
        if let inst = instance, (testRun?.failureCount ?? 0) > 0 {
            print("--- \(name): master \(inst.master), instance \(inst.dir), last log lines:\n\(inst.logTail(80))\n---")
        }
        instance?.destroy()
        sink?.stop()
        instance = nil
        sink = nil
        super.tearDown()
    }

    /// A sink plus an instance relaying to it.
    func makeRelayInstance() throws -> (PrivateInstance, SmtpSink) {
        let s = try SmtpSink()
        sink = s
        let i = try PrivateInstance(relayPort: s.port)
        instance = i
        return (i, s)
    }

    /// Sends `n` messages through smtpd and asserts all reach the sink.
    func assertMailFlows(_ inst: PrivateInstance, _ sink: SmtpSink, messages n: Int, sessions: Int = 5,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let before = sink.messageCount
        let r = try inst.smtpSource(sessions: sessions, messages: n)
        XCTAssertEqual(r.status, 0, "smtp-source failed: \(r.output)", file: file, line: line)
        XCTAssertTrue(sink.waitForMessages(before + n, timeout: 60),
                      "sink got \(sink.messageCount - before) of \(n) messages", file: file, line: line)
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles().prefix(10))",
                      file: file, line: line)
    }

    // (a)
    func testRelay500MessagesOver10SessionsAllReachSink() throws {
        let (inst, sink) = try makeRelayInstance()
        try inst.start()
        let r = try inst.smtpSource(sessions: 10, messages: 500)
        XCTAssertEqual(r.status, 0, "smtp-source: \(r.output)")
        XCTAssertTrue(sink.waitForMessages(500, timeout: 120), "sink has \(sink.messageCount) of 500")
        XCTAssertTrue(waitUntil(timeout: 30) { inst.sentCount() >= 500 }, "status=sent lines: \(inst.sentCount())")
        XCTAssertTrue(inst.waitQueueEmpty(), "queue not empty: \(inst.queuedFiles().prefix(10))")
        usleep(500_000)   // nothing extra may trickle in
        XCTAssertEqual(sink.messageCount, 500)
        XCTAssertEqual(inst.sentCount(), 500)
        XCTAssertEqual(inst.logLines(containing: "status=sent").filter { $0.contains("relay=127.0.0.1[127.0.0.1]:\(sink.port)") }.count, 500)
    }

    // (b)
    func testSendmailReachesLocalMailboxThroughPickup() throws {
        let inst = try PrivateInstance()
        instance = inst
        try inst.start()
        let token = "token-\(UUID().uuidString)"
        let msg = "From: root@localhost\nTo: nobody@localhost\nSubject: \(token)\n\nbody \(token)\n"
        let r = try inst.sendmail(to: "nobody@localhost", body: msg)
        XCTAssertEqual(r.status, 0, "sendmail: \(r.output)")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.1) { inst.mailbox("nobody").contains { $0.contains("body \(token)") } },
                      "message not in \(inst.dir)/mail/nobody")
        XCTAssertNotNil(inst.waitForLog("postfix/pickup[", "uid=0"), "no pickup log line")
        XCTAssertNotNil(inst.waitForLog("to=<nobody@localhost>", "relay=local", "status=sent"))
        XCTAssertTrue(inst.waitQueueEmpty())
    }

    // (c)
    func testStockPostfixStartStatusReloadStop() throws {
        let inst = try PrivateInstance()
        instance = inst
        let version = "3.7.11"

        var mark = inst.logMark()
        let st0 = try inst.postfix("status")
        XCTAssertEqual(st0.status, 1, "status before start: \(st0.output)")

        mark = inst.logMark()
        let start = try inst.postfix("start", timeout: 120)
        XCTAssertEqual(start.status, 0, "postfix start: \(start.output)")
        XCTAssertNotNil(inst.waitForLog("starting the Postfix mail system", since: mark, timeout: 10))
        XCTAssertNotNil(inst.waitForLog("daemon started -- version \(version), configuration \(inst.etc)", since: mark, timeout: 10))
        let pid = try XCTUnwrap(inst.masterPid(), "no live master pid after start")
        XCTAssertEqual(Proc.cmdline(pid).first.map { ($0 as NSString).lastPathComponent }, "master")
        let banner = Net.banner(port: inst.smtpPort)
        XCTAssertTrue(banner?.hasPrefix("220 ") == true, "no smtpd banner: \(banner ?? "nil")")

        mark = inst.logMark()
        let st1 = try inst.postfix("status")
        XCTAssertEqual(st1.status, 0, "status while running: \(st1.output)")
        XCTAssertNotNil(inst.waitForLog("the Postfix mail system is running: PID: \(pid)", since: mark))

        mark = inst.logMark()
        let again = try inst.postfix("start")
        XCTAssertEqual(again.status, 1, "second start must fail")
        XCTAssertNotNil(inst.waitForLog("the Postfix mail system is already running", since: mark),
                        "second start failed for another reason: \(again.output)")
        XCTAssertEqual(inst.masterPid(), pid)

        mark = inst.logMark()
        let rl = try inst.postfix("reload")
        XCTAssertEqual(rl.status, 0, "reload: \(rl.output)")
        XCTAssertNotNil(inst.waitForLog("postfix/master[\(pid)]", "reload -- version \(version), configuration \(inst.etc)",
                                        since: mark, timeout: 10), "no reload line")
        XCTAssertEqual(inst.masterPid(), pid, "master pid changed across reload")
        XCTAssertTrue(waitUntil(timeout: 10) { Net.greets(port: inst.smtpPort, timeout: 5) },
                      "no smtpd banner after reload")

        mark = inst.logMark()
        let stop = try inst.postfix("stop", timeout: 60)
        XCTAssertEqual(stop.status, 0, "stop: \(stop.output)")
        // No check of postfix-script's "stopping the Postfix mail system" log
        // line: it goes through postlogd, a child of the master that the stop
        // itself terminates, so on a slow machine (ASan) it is lost under the
        // stock master too. What stop must achieve is checked instead.
        XCTAssertTrue(waitUntil(timeout: 10) { !Proc.isAlive(pid) }, "master \(pid) still alive after stop")
        XCTAssertTrue(waitUntil(timeout: 10) { Net.isRefused(port: inst.smtpPort) }, "smtp port still open after stop")

        mark = inst.logMark()
        let st2 = try inst.postfix("status")
        XCTAssertEqual(st2.status, 1, "status after stop: \(st2.output)")
        XCTAssertNotNil(inst.waitForLog("the Postfix mail system is not running", since: mark))
    }

    // (d)
    func testMissingCommandIsThrottledWhileMailFlows() throws {
        let (inst, sink) = try makeRelayInstance()
        let badPort = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(badPort) inet n - n - - nosuchdaemon")
        try inst.start()
        let mark = inst.logMark()
        // Wake the broken service.
        if case .connected(let fd) = Net.connect(port: badPort) {
            XCTAssertNil(Net.readLine(fd: fd, timeout: 2).flatMap { $0.hasPrefix("220") ? $0 : nil },
                         "a missing daemon cannot greet")
            close(fd)
        } else {
            XCTFail("nosuchdaemon's listener at 127.0.0.1:\(badPort) not open")
        }
        let line = inst.waitForLog("nosuchdaemon", "bad command startup -- throttling", since: mark, timeout: 20)
        XCTAssertNotNil(line, "no throttling line for nosuchdaemon")
        XCTAssertNotNil(inst.masterPid(), "master died")
        try assertMailFlows(inst, sink, messages: 20)
        XCTAssertNotNil(inst.masterPid(), "master died")
    }

    // (e)
    func testProcessLimitTwoHoldsUnder50Connections() throws {
        let inst = try PrivateInstance()
        instance = inst
        let port = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(port) inet n - n - 2 smtpd")
        try inst.start()
        let service = "127.0.0.1:\(port)"

        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        let deadline = Date().addingTimeInterval(30)
        for _ in 0..<50 where Date() < deadline {
            guard case .connected(let fd) = Net.connect(port: port, timeout: 5) else {
                XCTFail("connect to \(service) failed"); return
            }
            fds.append(fd)
        }
        XCTAssertEqual(fds.count, 50)

        var maxSeen = 0
        var samples = 0
        let end = Date().addingTimeInterval(4)
        while Date() < end {
            maxSeen = max(maxSeen, inst.children(matching: service).count)
            samples += 1
            usleep(10_000)
        }
        XCTAssertGreaterThan(samples, 50)
        XCTAssertEqual(maxSeen, 2, "children running \(service) (limit 2): max \(maxSeen) over \(samples) samples")
        // Exactly two clients are being served: they got banners.
        var greeted = 0
        for fd in fds {
            if let l = Net.readLine(fd: fd, timeout: 0.05), l.hasPrefix("220") { greeted += 1 }
        }
        XCTAssertEqual(greeted, 2, "clients greeted while the limit holds")
        // Release the served ones, the next ones get served, still within the limit.
        fds.forEach { close($0) }
        fds.removeAll()
        let end2 = Date().addingTimeInterval(2)
        while Date() < end2 {
            maxSeen = max(maxSeen, inst.children(matching: service).count)
            usleep(10_000)
        }
        XCTAssertLessThanOrEqual(maxSeen, 2)
        XCTAssertNotNil(inst.masterPid())
    }

    // (f)
    func testReloadRemovesAndAddsServices() throws {
        let inst = try PrivateInstance()
        instance = inst
        let ports = try Net.freePorts(2)
        let (oldPort, newPort) = (ports[0], ports[1])
        let oldService = "127.0.0.1:\(oldPort)"
        try inst.appendMasterCf("\(oldService) inet n - n - - smtpd")
        try inst.start()
        let pid = try XCTUnwrap(inst.masterPid())

        // A client held on the service to be removed, so it has a process.
        guard case .connected(let held) = Net.connect(port: oldPort) else { XCTFail("connect \(oldService)"); return }
        defer { close(held) }
        XCTAssertEqual(Net.readLine(fd: held, timeout: 10)?.hasPrefix("220 "), true, "no banner from \(oldService)")
        XCTAssertTrue(waitUntil(timeout: 5) { !inst.children(matching: oldService).isEmpty },
                      "no child process for \(oldService)")
        XCTAssertTrue(Net.isRefused(port: newPort), "\(newPort) should not be open before it is added")

        // Remove the service and reload.
        try inst.removeMasterCfLines(startingWith: oldService)
        var mark = inst.logMark()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("reload -- version", since: mark, timeout: 10))
        XCTAssertTrue(waitUntil(timeout: 15) { inst.children(matching: oldService).isEmpty },
                      "processes of the removed service remain: \(inst.children(matching: oldService))")
        XCTAssertTrue(waitUntil(timeout: 15) { Net.isRefused(port: oldPort) }, "listener of removed service still open")
        XCTAssertEqual(Net.readLine(fd: held, timeout: 10).map { $0.isEmpty || $0.hasPrefix("421") }, true,
                       "held connection to removed service not closed")
        XCTAssertEqual(inst.masterPid(), pid)

        // Add a service and reload.
        try inst.appendMasterCf("127.0.0.1:\(newPort) inet n - n - - smtpd")
        mark = inst.logMark()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("reload -- version", since: mark, timeout: 10))
        var banner: String? = nil
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.2) {
            banner = Net.banner(port: newPort, timeout: 5); return banner?.hasPrefix("220 ") == true
        }, "no banner from the added service: \(banner ?? "nil")")
        XCTAssertEqual(inst.masterPid(), pid)
        XCTAssertTrue(Net.greets(port: inst.smtpPort), "main smtpd lost")
    }

    // (g)
    func testSecondMasterIsRefused() throws {
        let inst = try PrivateInstance()
        instance = inst
        try inst.start()
        let pid = try XCTUnwrap(inst.masterPid())
        let mark = inst.logMark()
        // The stock master reports this before it has switched to maillog_file,
        // i.e. to syslog only: capture both.
        var r: CommandResult
        var syslog: [String]
        var note = ""
        do {
            (r, syslog) = try runCapturingSyslog(inst.libexec + "/master", ["-c", inst.etc], socketDir: inst.dir, timeout: 30)
        } catch {
            // No private mount namespace here (e.g. an unprivileged container):
            // only maillog_file can show it then.
            note = " (syslog not captured: \(error))"
            syslog = []
            r = try runCommand("/usr/bin/setsid", ["--wait", inst.libexec + "/master", "-c", inst.etc], timeout: 30)
        }
        XCTAssertFalse(r.timedOut, "second master kept running")
        XCTAssertNotEqual(r.status, 0, "second master exited 0")
        // Through the first instance's postlogd: the line may land a little later.
        var logged: [String] = []
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) {
            logged = syslog + inst.logLines(since: mark, containing: "master")
            return logged.contains { $0.contains("unable to set exclusive lock") }
        }, "no lock failure logged (syslog or maillog): \(logged)\(note)")
        XCTAssertEqual(inst.masterPid(), pid, "first master must keep running")
        XCTAssertTrue(Net.greets(port: inst.smtpPort))
        // Same through postfix-script's own check (as it runs it: not as a
        // process group leader, where -t exits 1 because setsid() fails).
        let m2 = try RunningTestOptionTests.runningTest(inst)
        XCTAssertEqual(m2.status, 1, "master -t must report the running master: \(m2.output)")
    }

    // (h) Stock master exits on a bad master.cf at reload; ours must keep running.
    func testReloadWithBrokenMasterCfKeepsMailFlowing() throws {
        let (inst, sink) = try makeRelayInstance()
        try inst.start()
        let pid = try XCTUnwrap(inst.masterPid())
        try assertMailFlows(inst, sink, messages: 10)

        try inst.appendMasterCf("bogus     bogus  n       -       n       -       -       smtpd")
        let badLine = try inst.masterCfLineCount() - 1   // appended line, before the trailing newline
        let mark = inst.logMark()
        // postfix(1) reload would refuse (postconf validates master.cf first): signal directly.
        XCTAssertEqual(kill(pid, SIGHUP), 0)
        XCTAssertNotNil(inst.waitForLog("reload -- version", since: mark, timeout: 10))
        let err = inst.waitForLog("\(inst.masterCf)", "line \(badLine)", since: mark, timeout: 10)
        XCTAssertNotNil(err, "no error naming \(inst.masterCf) line \(badLine)")
        sleep(2)
        guard Proc.isAlive(pid) else {
            XCTFail("master exited on a broken master.cf at reload: \(inst.log(since: mark))")
            return
        }
        XCTAssertEqual(inst.masterPid(), pid)
        try assertMailFlows(inst, sink, messages: 10)
    }
}
