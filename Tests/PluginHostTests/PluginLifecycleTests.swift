// PluginLifecycleTests.swift - plugin workers come and go as Postfix daemons
// do: `postfix reload` retires the running workers (a busy one finishes its
// client first) and new ones serve; max_use ends a worker after N clients;
// -o max_idle ends an idle one. Workers are found as the master's children
// whose /proc comm is the master.cf command (the host names them so). Needs
// root and the postfix package: fails, never skips.
import Foundation
import XCTest
import TestSupport
import Glibc

final class PluginLifecycleTests: PluginTestCase {
    /// The master's live children whose /proc comm is `command` (first 15 bytes).
    func workers(_ inst: PrivateInstance, _ command: String) -> Set<pid_t> {
        Set(inst.children().filter { Proc.comm($0) == String(command.prefix(15)) })
    }

    func connectUnix(_ path: String) throws -> Int32 {
        var fd: Int32? = nil
        waitUntil(timeout: 10) { fd = UnixSocket.connect(path); return fd != nil }
        guard let fd else { throw HarnessError("cannot connect to \(path)") }
        return fd
    }

    /// Connects without a probe connection first (a probe would be a client
    /// of its own: a use, and maybe a second worker).
    func connectInet(_ port: Int) throws -> Int32 {
        var fd: Int32? = nil
        waitUntil(timeout: 10) {
            if case .connected(let c) = Net.connect(port: port) { fd = c }
            return fd != nil
        }
        guard let fd else { throw HarnessError("cannot connect to 127.0.0.1:\(port)") }
        return fd
    }

    /// "pid:text" from multi_echo -> pid.
    func pidOf(_ reply: String) -> pid_t? { reply.split(separator: ":").first.flatMap { pid_t($0) } }

    // MARK: reload

    func testPluginWorkersRetireOnReloadAndNewOnesServe() throws {
        let inst = try makeInstance()
        try inst.installFixture("single_echo")
        try inst.installSwiftPlugins()
        let port = try Net.freePort()
        try inst.appendMasterCf("""
            fxsingle unix - n n - - single_echo
            127.0.0.1:\(port) inet n - n - - echo -o echo_greeting=hi
            """)
        try inst.start()
        let master = inst.masterPid()

        // One busy worker per service, each holding a client across the reload.
        let a = try connectUnix(inst.socket("fxsingle"))
        defer { close(a) }
        XCTAssertEqual(Wire.exchange(a, "before\n"), "before\n")
        let b = try connectInet(port)
        defer { close(b) }
        XCTAssertEqual(Wire.read(b, until: "\r\n"), "hi\r\n")
        XCTAssertEqual(Wire.exchange(b, "before\n"), "before\n")
        let oldSingle = workers(inst, "single_echo"), oldEcho = workers(inst, "echo")
        XCTAssertEqual(oldSingle.count, 1, "single_echo workers: \(oldSingle)")
        XCTAssertEqual(oldEcho.count, 1, "echo workers: \(oldEcho)")

        let mark = inst.logMark()
        let r = try inst.postfix("reload")
        XCTAssertEqual(r.status, 0, "postfix reload: \(r.output)")
        XCTAssertNotNil(inst.waitForLog("reload", "configuration", since: mark, timeout: 15), "no reload in the log")

        // The clients being served keep their workers until they are done.
        XCTAssertEqual(Wire.exchange(a, "during\n"), "during\n")
        XCTAssertEqual(Wire.exchange(b, "during\n"), "during\n")

        // New clients are served by new workers.
        let c = try connectUnix(inst.socket("fxsingle"))
        defer { close(c) }
        XCTAssertEqual(Wire.exchange(c, "after\n"), "after\n")
        let d = try connectInet(port)
        defer { close(d) }
        XCTAssertEqual(Wire.read(d, until: "\r\n"), "hi\r\n")
        XCTAssertEqual(Wire.exchange(d, "after\n"), "after\n")
        let newSingle = workers(inst, "single_echo").subtracting(oldSingle)
        let newEcho = workers(inst, "echo").subtracting(oldEcho)
        XCTAssertEqual(newSingle.count, 1, "a new single_echo worker after reload")
        XCTAssertEqual(newEcho.count, 1, "a new echo worker after reload")

        // The old workers exit once their clients leave (max_idle is the
        // default 100s, so only the reload can end them); the new ones stay.
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
        XCTAssertTrue(waitUntil(timeout: 10) { oldSingle.union(oldEcho).allSatisfy { !Proc.isAlive($0) } },
                      "old workers still alive after reload: \(oldSingle.union(oldEcho).filter { Proc.isAlive($0) })")
        XCTAssertTrue(newSingle.union(newEcho).allSatisfy { Proc.isAlive($0) }, "new workers gone")
        XCTAssertEqual(Wire.exchange(c, "still\n"), "still\n")
        XCTAssertEqual(Wire.exchange(d, "still\n"), "still\n")
        XCTAssertEqual(inst.masterPid(), master, "the master survived the reload")
    }

    /// Stock multi_server exits as soon as the master disconnects, even with
    /// clients connected: they reconnect to a worker of the new configuration.
    func testMultiModelWorkerExitsAtReloadEvenWithAClient() throws {
        let inst = try makeInstance()
        try inst.installFixture("multi_echo")
        try inst.appendMasterCf("fxmulti unix - n n - 1 multi_echo")
        try inst.start()
        let a = try connectUnix(inst.socket("fxmulti"))
        defer { close(a) }
        let before = pidOf(Wire.exchange(a, "before\n"))
        let old = workers(inst, "multi_echo")
        XCTAssertEqual(old.count, 1, "one multi_echo worker: \(old)")
        XCTAssertEqual(before, old.first)

        let mark = inst.logMark()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("reload", "configuration", since: mark, timeout: 15), "no reload in the log")
        XCTAssertTrue(waitUntil(timeout: 10) { old.allSatisfy { !Proc.isAlive($0) } },
                      "the old multi worker kept running with a client after the reload")
        let b = try connectUnix(inst.socket("fxmulti"))
        defer { close(b) }
        let after = pidOf(Wire.exchange(b, "after\n"))
        XCTAssertNotNil(after)
        XCTAssertNotEqual(after, before, "a new worker serves after the reload")
    }

    // MARK: max_use

    func testMaxUseEndsAWorkerAfterThatManyClients() throws {
        let inst = try makeInstance()
        try inst.installFixture("multi_echo")
        try inst.installSwiftPlugins()
        let port = try Net.freePort()
        try inst.appendMasterCf("""
            fxuse unix - n n - 1 multi_echo -o max_use=3
            127.0.0.1:\(port) inet n - n - 1 echo -o max_use=2 -o echo_greeting=hi
            """)
        try inst.start()

        // multi model: three clients, one after the other, all on one process;
        // it exits after the third; the fourth gets a new process.
        var pids: [pid_t] = []
        for n in 1...3 {
            let fd = try connectUnix(inst.socket("fxuse"))
            let reply = Wire.exchange(fd, "client\(n)\n")
            close(fd)
            guard let pid = pidOf(reply) else { return XCTFail("multi_echo reply: \(reply)") }
            pids.append(pid)
            if n < 3 { XCTAssertTrue(Proc.isAlive(pid), "worker ended after \(n) of max_use=3 clients") }
        }
        XCTAssertEqual(Set(pids).count, 1, "one process for the first three clients: \(pids)")
        let first = pids[0]
        XCTAssertTrue(waitUntil(timeout: 10) { !Proc.isAlive(first) }, "worker still alive after max_use=3 clients")
        let fd = try connectUnix(inst.socket("fxuse"))
        let reply = Wire.exchange(fd, "client4\n")
        close(fd)
        XCTAssertTrue(reply.hasSuffix(":client4\n"), "fourth client: \(reply)")
        XCTAssertNotEqual(pidOf(reply), first, "the fourth client needs a new process")

        // single model (Swift echo): two clients, then the worker ends.
        var seen = Set<pid_t>()
        for n in 1...2 {
            let fd = try connectInet(port)
            XCTAssertEqual(Wire.read(fd, until: "\r\n"), "hi\r\n")
            XCTAssertEqual(Wire.exchange(fd, "c\(n)\n"), "c\(n)\n")
            seen.formUnion(workers(inst, "echo"))
            close(fd)
            if n == 1 {
                usleep(300_000)
                XCTAssertEqual(workers(inst, "echo").count, 1, "echo worker ended after 1 of max_use=2 clients")
            }
        }
        XCTAssertEqual(seen.count, 1, "one echo process for both clients: \(seen)")
        XCTAssertTrue(waitUntil(timeout: 10) { seen.allSatisfy { !Proc.isAlive($0) } }, "echo worker alive after max_use=2")
    }

    // MARK: max_idle

    func testMaxIdleOverrideEndsAnIdleWorker() throws {
        let inst = try makeInstance()
        try inst.installFixture("multi_echo")
        try inst.appendMasterCf("""
            fxidle unix - n n - 1 multi_echo -o max_idle=2s
            fxbusy unix - n n - 1 multi_echo
            """)
        try inst.start()

        func serveOnce(_ service: String) throws -> pid_t {
            let fd = try connectUnix(inst.socket(service))
            defer { close(fd) }
            let reply = Wire.exchange(fd, "idle?\n")
            guard let pid = pidOf(reply) else { throw HarnessError("\(service) reply: \(reply)") }
            return pid
        }
        let idle = try serveOnce("fxidle")
        let control = try serveOnce("fxbusy")
        let start = Date()
        XCTAssertTrue(waitUntil(timeout: 15) { !Proc.isAlive(idle) }, "worker with max_idle=2s still alive after 15s")
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertTrue(elapsed >= 1.0 && elapsed < 8, "idle worker ended after \(elapsed)s with max_idle=2s")
        // The default max_idle (100s) keeps the other worker.
        XCTAssertTrue(Proc.isAlive(control), "the worker without the override ended too")
        // A new client gets a new process.
        XCTAssertNotEqual(try serveOnce("fxidle"), idle)
    }
}

extension Proc {
    /// /proc/<pid>/comm without the newline.
    static func comm(_ pid: pid_t) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }
}
