// WorkerRuntimeTests.swift - what the worker runtime promises besides the
// server models: life-cycle parameters read as a stock daemon reads them,
// send_trigger to every kind of service the header names, and capabilities
// enforced per server model.
import XCTest
import Glibc
import TestSupport

final class WorkerRuntimeTests: PluginTestCase {
    /// A malformed max_idle, max_use or daemon_timeout ends a stock daemon
    /// with a fatal text naming the parameter; a plugin worker must end with
    /// the same text, never fall back to a default.
    func testBadLifeCycleParametersAreFatalWithStockTexts() throws {
        let inst = try makeInstance()
        try inst.installFixture("single_echo")
        let bad = ["max_idle=0", "max_idle=10q", "max_use=0", "max_use=many", "daemon_timeout=0", "daemon_timeout=5x"]
        let ports = try Net.freePorts(2 * bad.count)
        var lines: [String] = []
        for (index, setting) in bad.enumerated() {
            lines.append("127.0.0.1:\(ports[2 * index]) inet n - n - 1 smtpd -o \(setting)")
            lines.append("127.0.0.1:\(ports[2 * index + 1]) inet n - n - 1 single_echo -o \(setting)")
        }
        try inst.appendMasterCf(lines.joined(separator: "\n"))
        try inst.start()

        for (index, setting) in bad.enumerated() {
            let stock = try fatalText(inst, port: ports[2 * index], program: "smtpd")
            let ours = try fatalText(inst, port: ports[2 * index + 1], program: "single_echo")
            XCTAssertEqual(ours, stock, "-o \(setting): our worker's fatal text differs from stock smtpd's")
            XCTAssertTrue(stock.contains(String(setting.prefix { $0 != "=" })), "stock text names the parameter: \(stock)")
        }
        XCTAssertNotNil(inst.masterPid(), "master died")
    }

    /// send_trigger reaches a unix service, a fifo, and a master.cf inet
    /// service named as in master.cf; an unknown name fails with a warning.
    func testSendTriggerReachesUnixFifoAndInetServices() throws {
        let inst = try makeInstance()
        for fixture in ["trigger_forward", "trigger_append"] { try inst.installFixture(fixture) }
        let port = try Net.freePort()
        let out = inst.dir + "/trigger.out"
        try inst.appendMasterCf("""
            fwd unix - n n - 1 trigger_forward
            fxtrig unix - n n - 1 trigger_append -o fixture_trigger_file=\(out)
            fxfifo fifo - n n - 1 trigger_append -o fixture_trigger_file=\(out)
            127.0.0.1:\(port) inet n n n - 1 trigger_append -o fixture_trigger_file=\(out)
            """)
        try inst.start()
        let mark = inst.logMark()

        for (service, token) in [("private/fxtrig", "via-unix"), ("private/fxfifo", "via-fifo"),
                                 ("127.0.0.1:\(port)", "via-inet")] {
            XCTAssertEqual(try forward(inst, service, token), "0\n", "send_trigger to \(service)")
            XCTAssertTrue(waitUntil(timeout: 10) { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains(token) },
                          "\(token) not delivered through \(service)")
        }
        XCTAssertEqual(try forward(inst, "nosuchservice", "lost"), "-1\n")
        XCTAssertNotNil(inst.waitForLog("send_trigger nosuchservice: no such unix or fifo service path, and no master.cf inet service of that name",
                                        since: mark, timeout: 5))
    }

    /// In executable mode (a copy of our master exec'd as a daemon) the
    /// worker reads master.cf itself, so inet names reach their service too.
    func testSendTriggerInExecutableModeReachesInetServices() throws {
        let inst = try makeInstance()
        let forwarder = try inst.installFixture("trigger_forward", as: "fwdplugin")
        try inst.installFixture("trigger_append")
        let daemon = inst.libexec + "/fwddaemon"
        XCTAssertEqual(try runCommand("/bin/cp", [inst.libexec + "/master", daemon]).status, 0)
        chmod(daemon, 0o755)
        let port = try Net.freePort()
        let out = inst.dir + "/trigger.out"
        try inst.appendMasterCf("""
            fwd unix - n n - 1 fwddaemon -o mailhost_plugin=\(forwarder)
            127.0.0.1:\(port) inet n n n - 1 trigger_append -o fixture_trigger_file=\(out)
            """)
        try inst.start()
        XCTAssertEqual(try forward(inst, "127.0.0.1:\(port)", "exec-inet"), "0\n")
        XCTAssertTrue(waitUntil(timeout: 10) { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("exec-inet") },
                      "exec-inet not delivered")
    }

    /// A plugin that requires a capability its model does not offer is
    /// refused at validation, naming both sides.
    func testRequiredCapabilitiesAreEnforcedPerModel() throws {
        let inst = try makeInstance()
        let path = try inst.installFixture("events_in_single")
        try inst.appendMasterCf("evsingle unix - n n - 1 events_in_single")
        try inst.start()
        let reason = Expected.mismatch("required capabilities", "0xb", "0x17 in the single server model")
        XCTAssertNotNil(inst.waitForLog(Expected.refused(path, reason), timeout: 15), "no refusal: \(reason)")
        XCTAssertNil(UnixSocket.connect(inst.socket("evsingle")).map { close($0) }, "a refused plugin's service listens")
        XCTAssertNotNil(inst.masterPid(), "master died")
    }

    // MARK: helpers

    /// Connects to the service (waking a process) and returns the text
    /// after "fatal: " of the first fatal line that `program` then logs.
    private func fatalText(_ inst: PrivateInstance, port: Int, program: String) throws -> String {
        let mark = inst.logMark()
        guard Net.waitListening(port: port, timeout: 10), case .connected(let fd) = Net.connect(port: port) else {
            throw HarnessError("cannot connect to 127.0.0.1:\(port)")
        }
        close(fd)
        guard let line = inst.waitForLog("/\(program)[", "fatal: ", since: mark, timeout: 15),
              let range = line.range(of: "fatal: ") else {
            throw HarnessError("\(program) on port \(port) logged no fatal line\n\(inst.logTail(20))")
        }
        return String(line[range.upperBound...])
    }

    private func forward(_ inst: PrivateInstance, _ service: String, _ data: String) throws -> String {
        var fd: Int32?
        waitUntil(timeout: 10) { fd = UnixSocket.connect(inst.socket("fwd")); return fd != nil }
        guard let fd else { throw HarnessError("cannot connect to fwd") }
        defer { close(fd) }
        return Wire.exchange(fd, "\(service) \(data)\n", until: "\n")
    }
}
