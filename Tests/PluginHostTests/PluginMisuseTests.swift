// PluginMisuseTests.swift - a plugin that calls host functions wrongly ends
// at most its own worker; here it must not even do that.
//
// The misuse fixtures (Fixtures/misuse*.c, requests listed in misuse.h) call
// client_done twice, in models that do not offer it, and on stale, forged
// and NULL handles; watch descriptors the host owns or that are not open;
// pass NULL buffers with lengths and absurd lengths. Each answer carries the
// pid that served it: every request of a service must be answered by the
// same, living worker, with the host's refusal in the log.
import XCTest
import Glibc
import TestSupport

final class PluginMisuseTests: PluginTestCase {
    func testMisbehavingPluginsAreRefusedCallByCallAndKeepServing() throws {
        let inst = try makeInstance()
        for fixture in ["misuse_single", "misuse_multi", "misuse_event"] { try inst.installFixture(fixture) }
        try inst.appendMasterCf("""
            musingle unix - n n - 1 misuse_single
            mumulti unix - n n - 1 misuse_multi
            muevent unix - n n - 1 misuse_event
            mudonefail unix - n n - 1 misuse_event done-then-fail
            """)
        try inst.start()
        let mark = inst.logMark()

        // single: a connection per request; client_done is not offered, so
        // the connection is still the plugin's to answer on.
        var pids = Set<String>()
        let singleAnswers = try ["hello", "done", "stale", "forged", "badfd", "badlen", "timer"].map { request in
            let fd = try connect(inst.socket("musingle"))
            defer { close(fd) }
            return try answer(fd, request, pids: &pids)
        }
        XCTAssertEqual(singleAnswers.filter { !$0.hasPrefix("done:") },
                       ["echo:hello", "stale:-1", "forged:-1,-1", "badfd:-1,-1,-1,-1,-1", "badlen:4,-1", "timer:-1"])
        XCTAssertGreaterThanOrEqual(Int(singleAnswers[1].dropFirst(5)) ?? -1, 0,
                                    "a refused client_done must leave the connection open")
        XCTAssertEqual(pids.count, 1, "single: one worker serves every request: \(pids)")

        // multi: one connection, every request; then a second one uses the first's handle.
        pids = []
        let multi = try connect(inst.socket("mumulti"))
        let multiAnswers = try ["hello", "done", "forged", "badfd", "badlen", "timer", "again"].map {
            try answer(multi, $0, pids: &pids)
        }
        close(multi)
        XCTAssertEqual(multiAnswers.filter { !$0.hasPrefix("done:") },
                       ["echo:hello", "forged:-1,-1", "badfd:-1,-1,-1,-1,-1", "badlen:4,-1", "timer:-1", "echo:again"])
        let second = try connect(inst.socket("mumulti"))
        XCTAssertEqual(try answer(second, "stale", pids: &pids), "stale:-1")
        close(second)
        XCTAssertEqual(pids.count, 1, "multi: one worker serves every request: \(pids)")

        // event: descriptors the host owns cannot be watched; client_done twice
        // ends the connection once; the next client's stale handle is refused.
        pids = []
        let event = try connect(inst.socket("muevent"))
        let eventAnswers = try ["hello", "badfd", "forged", "badlen", "timer"].map { try answer(event, $0, pids: &pids) }
        XCTAssertEqual(eventAnswers, ["echo:hello", "badfd:-1,-1,-1,-1,-1", "forged:-1,-1", "badlen:4,-1", "timer:-1"])
        XCTAssertTrue(Wire.send(event, "done\n"))
        XCTAssertEqual(Wire.read(event, until: "\n", timeout: 10), "", "client_done ends the connection: EOF, no answer")
        close(event)
        let next = try connect(inst.socket("muevent"))
        XCTAssertEqual(try answer(next, "stale", pids: &pids), "stale:-1")
        close(next)
        XCTAssertEqual(pids.count, 1, "event: one worker serves every request: \(pids)")

        // event: ACCEPT ends the connection itself and then fails; the host
        // must not end it again. The same worker takes the next client.
        for _ in 0..<3 {
            let fd = try connect(inst.socket("mudonefail"))
            XCTAssertEqual(Wire.read(fd, until: "\n", timeout: 10), "bye\n")
            XCTAssertEqual(Wire.read(fd, until: "\n", timeout: 10), "", "connection ended after bye")
            close(fd)
        }

        // The refusals are in the log, and no worker died.
        for reason in ["client_done: unknown or finished client", "client_done: not available in the single server model",
                       "client_done: not available in the multi server model", "client_fd: unknown or finished client",
                       "watch_read: descriptor 5 is not the plugin's", "watch_read: descriptor 6 is not the plugin's",
                       "watch_read: descriptor -1 is not the plugin's", "watch_read: descriptor 1000000: Bad file descriptor",
                       "watch_read: NULL callback", "unwatch: descriptor 5 is not the plugin's",
                       "log: NULL buffer with length 10", "log: bad length 18446744073709551615",
                       "param_string: NULL buffer with length 5", "send_trigger: NULL buffer with length 3",
                       "timer: NULL callback", "timer: not available in the single server model"] {
            XCTAssertNotNil(inst.waitForLog("plugin called \(reason) -- refused", since: mark),
                            "no refusal logged: \(reason)")
        }
        let deaths = inst.logLines(since: mark, containing: "misuse").filter {
            $0.contains("killed by signal") || $0.contains("exit status") || $0.contains("fatal")
        }
        XCTAssertEqual(deaths, [], "a misuse worker died")
        XCTAssertNotNil(inst.masterPid(), "master died")
    }

    // MARK: helpers

    private func connect(_ path: String) throws -> Int32 {
        var fd: Int32?
        waitUntil(timeout: 10) { fd = UnixSocket.connect(path); return fd != nil }
        guard let fd else { throw HarnessError("cannot connect to \(path)") }
        return fd
    }

    /// Sends one request line; returns the answer without its pid, and
    /// collects the pid that gave it.
    private func answer(_ fd: Int32, _ request: String, pids: inout Set<String>) throws -> String {
        guard Wire.send(fd, request + "\n") else { throw HarnessError("cannot send \(request)") }
        let reply = Wire.read(fd, until: "\n", timeout: 10)
        guard reply.hasSuffix("\n"), let colon = reply.firstIndex(of: ":") else {
            throw HarnessError("no answer to \(request): \(reply.debugDescription)")
        }
        pids.insert(String(reply[..<colon]))
        return String(reply[reply.index(after: colon)...].dropLast())
    }
}
