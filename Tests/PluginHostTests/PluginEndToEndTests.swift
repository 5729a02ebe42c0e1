// PluginEndToEndTests.swift - the plugin host end to end: our master runs a
// private instance whose master.cf names plugins (C fixtures and the Swift
// echo and spawn plugins) next to stock daemons, on unix sockets and on
// 127.0.0.1. Needs root and the postfix package: fails, never skips.
import Foundation
import XCTest
import TestSupport
import Glibc
import PluginAPI

final class PluginEndToEndTests: PluginTestCase {
    var sink: SmtpSink?

    override func tearDown() {
        sink?.stop()
        sink = nil
        super.tearDown()
    }

    func makeInstance(relay: Bool) throws -> PrivateInstance {
        if relay { sink = try SmtpSink() }
        return try makeInstance(relayPort: sink?.port)
    }

    // MARK: server models

    func testEachServerModelServesUnixAndInet() throws {
        let inst = try makeInstance()
        for f in ["single_echo", "multi_echo", "event_echo", "trigger_append"] { try inst.installFixture(f) }
        try inst.installSwiftPlugins()
        let p = try Net.freePorts(5)
        let out = inst.dir + "/trigger.out"
        try inst.appendMasterCf("""
            fxsingle unix - n n - - single_echo
            127.0.0.1:\(p[0]) inet n - n - - single_echo
            fxmulti unix - n n - 1 multi_echo
            127.0.0.1:\(p[1]) inet n - n - 1 multi_echo
            fxevent unix - n n - 1 event_echo
            127.0.0.1:\(p[2]) inet n - n - 1 event_echo
            fxtrigger unix - n n - 1 trigger_append -o fixture_trigger_file=\(out)
            fxtrigfifo fifo - n n - 1 trigger_append -o fixture_trigger_file=\(out)
            127.0.0.1:\(p[3]) inet n n n - 1 trigger_append -o fixture_trigger_file=\(out)
            127.0.0.1:\(p[4]) inet n - n - - echo -o echo_greeting=howdy
            """)
        try inst.start()

        // single: one client at a time, bytes echoed.
        try assertEcho(unix: inst.socket("fxsingle"), "single-unix\n")
        try assertEcho(port: p[0], "single-inet\n")

        // multi: one process (process_limit 1) serves two open connections.
        for (a, b) in [try (unixFD(inst.socket("fxmulti")), unixFD(inst.socket("fxmulti"))),
                       try (inetFD(p[1]), inetFD(p[1]))] {
            defer { close(a); close(b) }
            let ra = Wire.exchange(a, "one\n"), rb = Wire.exchange(b, "two\n")
            XCTAssertTrue(ra.hasSuffix(":one\n") && rb.hasSuffix(":two\n"), "multi replies: \(ra) / \(rb)")
            XCTAssertEqual(ra.split(separator: ":").first, rb.split(separator: ":").first, "one process for both clients")
            XCTAssertTrue(Wire.exchange(a, "again\n").hasSuffix(":again\n"), "a kept connection serves more requests")
        }

        // event: two concurrent connections driven through watch_read.
        for (a, b) in [try (unixFD(inst.socket("fxevent")), unixFD(inst.socket("fxevent"))), try (inetFD(p[2]), inetFD(p[2]))] {
            defer { close(a); close(b) }
            XCTAssertEqual(Wire.exchange(a, "ev-a\n"), "ev-a\n")
            XCTAssertEqual(Wire.exchange(b, "ev-b\n"), "ev-b\n")
            XCTAssertEqual(Wire.exchange(a, "ev-a2\n"), "ev-a2\n")
        }

        // trigger: what is written arrives in the file named by the -o parameter.
        // Privileged (unprivileged = n) so the plugin may write the test's file.
        for (fd, token) in [try (unixFD(inst.socket("fxtrigger")), "trig-unix"), try (fifoFD(inst.socket("fxtrigfifo")), "trig-fifo"),
                            try (inetFD(p[3]), "trig-inet")] {
            XCTAssertTrue(Wire.send(fd, token))
            close(fd)
            XCTAssertTrue(waitUntil(timeout: 10) { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains(token) },
                          "\(token) not in \(out)")
        }

        // The Swift echo plugin: greeting from its -o parameter, then echo.
        let fd = try inetFD(p[4])
        defer { close(fd) }
        XCTAssertEqual(Wire.read(fd, until: "\r\n"), "howdy\r\n")
        XCTAssertEqual(Wire.exchange(fd, "swift line\n"), "swift line\n")
        XCTAssertNotNil(inst.waitForLog("echo ready on service 127.0.0.1:\(p[4]) (inet)"))
        // The rule that picked the plugin is logged.
        XCTAssertNotNil(inst.waitForLog("command echo resolves to plugin \(inst.libexec)/echo.so"))
    }

    // MARK: refusals

    func testBadPluginsAreRefusedWithExactMessagesAndTheRestRuns() throws {
        let inst = try makeInstance()
        let bad = ["bad_magic", "bad_major", "higher_minor", "small_size", "no_entry", "no_serve"]
        var paths: [String: String] = [:]
        for f in bad { paths[f] = try inst.installFixture(f) }
        paths["wrong_owner"] = try inst.installFixture("single_echo", as: "wrong_owner")
        let nobody = try XCTUnwrap(getpwnam("nobody"), "user nobody must exist").pointee
        let wrongOwner = try XCTUnwrap(paths["wrong_owner"])
        XCTAssertEqual(chown(wrongOwner, nobody.pw_uid, 0), 0, "chown \(wrongOwner): \(String(cString: strerror(errno)))")
        try inst.installFixture("single_echo")
        let p = try Net.freePorts(2)
        var lines = bad.map { "fx\($0) unix - n n - - \($0)" }
        lines.append("fxwrongowner unix - n n - - wrong_owner")
        lines.append("127.0.0.1:\(p[0]) inet n - n - - bad_magic")
        lines.append("127.0.0.1:\(p[1]) inet n - n - - single_echo")
        try inst.appendMasterCf(lines.joined(separator: "\n"))
        try inst.start()

        let major = Int(MH_ABI_MAJOR), minor = Int(MH_ABI_MINOR)
        let expected: [(String, String)] = [
            ("bad_magic", Expected.mismatch("magic", "0x12345678", "0x4d48504c")),
            ("bad_major", Expected.mismatch("ABI major", "\(major + 1)", "\(major)")),
            ("higher_minor", Expected.mismatch("ABI minor", "\(minor + 1)", "\(minor)")),
            ("small_size", Expected.mismatch("descriptor size", "16", "\(Expected.descriptorSize)")),
            ("no_entry", "missing entry symbol mailhost_plugin_entry"),
            ("no_serve", "missing required callback MH_PLUGIN_SERVE for the single server model"),
            ("wrong_owner", "\(paths["wrong_owner"] ?? "") is not owned by root"),
        ]
        for (fixture, reason) in expected {
            let line = Expected.refused(paths[fixture] ?? fixture, reason)
            XCTAssertNotNil(inst.waitForLog(line, timeout: 15), "no log line: \(line)")
        }
        XCTAssertNotNil(inst.waitForLog("service \"fxno_serve\" (", ") disabled: its plugin was refused"))
        // The unknown callback id 999 in no_serve is not a reason of its own.
        // (Only refusal lines count: a pid or port elsewhere in the log may contain 999.)
        XCTAssertTrue(inst.logLines(containing: "refused").filter { $0.contains("999") }.isEmpty,
                      "an unknown id was reported")
        // The refused services do not listen; the master and the rest run.
        XCTAssertNil(UnixSocket.connect(inst.socket("fxbad_magic")).map { close($0) })
        XCTAssertNotNil(inst.masterPid())
        XCTAssertTrue(Net.greets(port: inst.smtpPort), "stock smtpd beside the refused plugins")
        try assertEcho(port: p[1], "still-serving\n")
    }

    // MARK: crash containment

    func testCrashingPluginIsThrottledWhileStockSmtpdKeepsDelivering() throws {
        let inst = try makeInstance(relay: true)
        let segv = try inst.installFixture("crash_segv")
        let abrt = try inst.installFixture("crash_abort")
        let port = try Net.freePort()
        try inst.appendMasterCf("""
            127.0.0.1:\(port) inet n - n - - crash_segv
            fxabort unix - n n - - crash_abort
            """)
        try inst.start()
        let mark = inst.logMark()
        let masterPid = inst.masterPid()

        try sendDie(inetFD(port))
        try sendDie(unixFD(inst.socket("fxabort")))

        XCTAssertNotNil(inst.waitForLog("killed by signal 11", since: mark, timeout: 15), "SIGSEGV child not reported")
        XCTAssertNotNil(inst.waitForLog("killed by signal 6", since: mark, timeout: 15), "SIGABRT child not reported")
        XCTAssertNotNil(inst.waitForLog(segv, "bad command startup -- throttling", since: mark, timeout: 15))
        XCTAssertNotNil(inst.waitForLog(abrt, "bad command startup -- throttling", since: mark, timeout: 15))
        XCTAssertEqual(inst.masterPid(), masterPid, "the master survived")
        try assertMailFlows(inst, XCTUnwrap(sink), messages: 20)
    }

    /// master.cf's unprivileged and chroot fields: the worker runs as
    /// mail_owner inside queue_directory, or as root outside it.
    func testWorkersDropPrivilegesAndChrootAsMasterCfSays() throws {
        let inst = try makeInstance()
        try inst.installFixture("whoami")
        XCTAssertTrue(FileManager.default.createFile(atPath: inst.queue + "/chroot-marker", contents: Data()), "create the chroot marker")
        try inst.appendMasterCf("""
            fxjailed unix - y y - - whoami
            fxroot   unix - n n - - whoami
            """)
        try inst.start()
        let owner = try XCTUnwrap(getpwnam("postfix")).pointee
        for (service, expected) in [("fxjailed", "uid=\(owner.pw_uid) gid=\(owner.pw_gid) jailed=yes\n"),
                                    ("fxroot", "uid=0 gid=0 jailed=no\n")] {
            let fd = try XCTUnwrap(UnixSocket.connect(inst.socket(service)), "connect \(service)")
            defer { close(fd) }
            XCTAssertEqual(Wire.read(fd, until: "\n", timeout: 10), expected, service)
        }
    }

    /// A Swift runtime trap (fatalError) in plugin code ends only the worker.
    func testSwiftTrapInPluginIsThrottledWhileStockSmtpdKeepsDelivering() throws {
        let inst = try makeInstance(relay: true)
        try inst.installSwiftPlugins()
        let port = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(port) inet n - n - - trap")
        try inst.start()
        let mark = inst.logMark()
        let masterPid = inst.masterPid()
        try sendDie(inetFD(port))
        XCTAssertNotNil(inst.waitForLog(inst.libexec + "/trap.so pid", "killed by signal", since: mark, timeout: 15),
                        "the trapping worker was not reported")
        XCTAssertNotNil(inst.waitForLog(inst.libexec + "/trap.so: bad command startup -- throttling", since: mark, timeout: 15))
        XCTAssertEqual(inst.masterPid(), masterPid, "the master survived")
        try assertMailFlows(inst, XCTUnwrap(sink), messages: 20)
    }

    // MARK: spawn

    func testStockSmtpdPolicyServiceRunsThroughTheSpawnPlugin() throws {
        let inst = try makeInstance()
        try inst.installSwiftPlugins()
        let script = inst.dir + "/policy-server.sh"
        try FileManager.default.copyItem(atPath: PluginEnv.fixtures + "/policy-server.sh", toPath: script)
        chmod(script, 0o755)
        try inst.appendMasterCf("policy unix - n n - 0 spawn user=nobody argv=\(script)")
        try inst.appendMainCf("""
            policy_time_limit = 30s
            smtpd_recipient_restrictions = check_policy_service unix:private/policy, permit_mynetworks, reject_unauth_destination
            """)
        try inst.start()

        guard case .connected(let fd) = Net.connect(port: inst.smtpPort) else { return XCTFail("cannot connect to smtpd") }
        defer { close(fd) }
        XCTAssertTrue(Wire.read(fd, until: "\r\n").hasPrefix("220 "))
        XCTAssertTrue(Wire.exchange(fd, "EHLO client.example\r\n", until: "250 ").contains("250 "))
        XCTAssertTrue(Wire.exchange(fd, "MAIL FROM:<a@example.com>\r\n", until: "\r\n").hasPrefix("250"))
        let reply = Wire.exchange(fd, "RCPT TO:<nobody@localhost>\r\n", until: "\r\n")
        XCTAssertTrue(reply.hasPrefix("554 5.7.1") && reply.contains("fixture policy says no"), "RCPT reply: \(reply)")
        _ = Wire.exchange(fd, "QUIT\r\n", until: "\r\n")
        XCTAssertNotNil(inst.waitForLog("NOQUEUE: reject: RCPT", "fixture policy says no", timeout: 10))
        XCTAssertNotNil(inst.waitForLog("command spawn resolves to plugin \(inst.libexec)/spawn.so"))
    }

    // MARK: helpers

    /// Sends a request that makes a crash fixture die, waits briefly for its
    /// (absent) answer, closes. The connection itself must succeed.
    func sendDie(_ fd: Int32, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(Wire.send(fd, "die\n"), "send to the crashing service", file: file, line: line)
        _ = Wire.read(fd, until: "\n", timeout: 3)
        close(fd)
    }

    /// Opens a master.cf fifo for writing (non-blocking: fails rather than
    /// hangs when no reader holds it).
    func fifoFD(_ path: String) throws -> Int32 {
        var fd: Int32 = -1
        waitUntil(timeout: 10) { fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC); return fd >= 0 }
        guard fd >= 0 else { throw HarnessError("cannot open fifo \(path): \(errno)") }
        return fd
    }

    func inetFD(_ port: Int) throws -> Int32 {
        guard Net.waitListening(port: port, timeout: 10), case .connected(let fd) = Net.connect(port: port) else {
            throw HarnessError("cannot connect to 127.0.0.1:\(port)")
        }
        return fd
    }

    func assertEcho(unix path: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fd = try unixFD(path)
        defer { close(fd) }
        XCTAssertEqual(Wire.exchange(fd, text), text, "echo over \(path)", file: file, line: line)
    }

    func assertEcho(port: Int, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fd = try inetFD(port)
        defer { close(fd) }
        XCTAssertEqual(Wire.exchange(fd, text), text, "echo over 127.0.0.1:\(port)", file: file, line: line)
    }

    func assertMailFlows(_ inst: PrivateInstance, _ sink: SmtpSink, messages n: Int,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let before = sink.messageCount
        let r = try inst.smtpSource(sessions: 2, messages: n)
        XCTAssertEqual(r.status, 0, "smtp-source failed: \(r.output)", file: file, line: line)
        XCTAssertTrue(sink.waitForMessages(before + n, timeout: 60), "sink got \(sink.messageCount - before) of \(n)",
                      file: file, line: line)
    }
}
