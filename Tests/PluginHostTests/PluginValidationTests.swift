// PluginValidationTests.swift - validating plugins never stalls the master.
// At start-up all validators run at once; at reload they run while the
// running configuration keeps serving (listeners, spawns, the status socket),
// and the new configuration is applied once every validator has answered or
// timed out. A validating child holds none of the master's descriptors when
// plugin code first runs. The probe fixture's constructor records what it
// saw and when (CLOCK_MONOTONIC, comparable with this process's clock).
// Needs root and the postfix package: fails, never skips.
import Foundation
import XCTest
import TestSupport
import Glibc

final class PluginValidationTests: PluginTestCase {
    /// One run of the probe fixture's constructor (Fixtures/probe.c).
    struct ProbeRecord {
        let name: String
        let pid: pid_t
        let start: Int64
        let end: Int64
        let descriptors: [Int32: String]
    }

    func probeDirectory(_ inst: PrivateInstance) throws -> String {
        let dir = inst.dir + "/probe"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @discardableResult
    func installProbe(_ inst: PrivateInstance, _ name: String) throws -> String {
        try inst.buildFixture("probe", to: inst.libexec + "/" + name + ".so",
                              defines: ["PROBE_DIR=\"\(try probeDirectory(inst))\"", "PROBE_NAME=\"\(name)\""])
    }

    /// Makes every later probe constructor sleep this long (0: not at all).
    func setProbeSleep(_ inst: PrivateInstance, seconds: Int) throws {
        try String(seconds).write(toFile: try probeDirectory(inst) + "/sleep", atomically: true, encoding: .utf8)
    }

    func probeRecords(_ inst: PrivateInstance) throws -> [ProbeRecord] {
        let text = (try? String(contentsOfFile: try probeDirectory(inst) + "/records", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 4, let pid = pid_t(fields[1]), let start = Int64(fields[2]),
                  let end = Int64(fields[3]) else { return nil }
            var descriptors: [Int32: String] = [:]
            for field in fields.dropFirst(4) {
                let parts = field.split(separator: "=", maxSplits: 1)
                if parts.count == 2, let fd = Int32(parts[0]) { descriptors[fd] = String(parts[1]) }
            }
            return ProbeRecord(name: String(fields[0]), pid: pid, start: start, end: end, descriptors: descriptors)
        }
    }

    func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Connects to 127.0.0.1:port and waits for the SMTP banner; the
    /// monotonic times of the connect and of the banner's arrival.
    func timedBanner(port: Int) throws -> (connected: Int64, banner: Int64) {
        let before = monotonicNanoseconds()
        guard case .connected(let fd) = Net.connect(port: port, timeout: 10) else {
            throw HarnessError("cannot connect to 127.0.0.1:\(port)")
        }
        defer { close(fd) }
        guard let line = Net.readLine(fd: fd, timeout: 30), line.hasPrefix("220") else {
            throw HarnessError("no banner from 127.0.0.1:\(port)")
        }
        let after = monotonicNanoseconds()
        _ = Wire.send(fd, "QUIT\r\n")
        return (before, after)
    }

    /// The master's status report (pid/master.status), read to EOF.
    func statusReport(_ inst: PrivateInstance) throws -> String {
        guard let fd = UnixSocket.connect(inst.queue + "/pid/master.status") else {
            throw HarnessError("cannot connect to the status socket")
        }
        defer { close(fd) }
        return Wire.read(fd, until: "\u{0}", timeout: 10)
    }

    func waitForProbeRecords(_ inst: PrivateInstance, count: Int, timeout: TimeInterval) throws -> [ProbeRecord] {
        var records: [ProbeRecord] = []
        try waitUntil(timeout: timeout, interval: 0.1) {
            records = try probeRecords(inst)
            return records.count >= count
        }
        return records
    }

    func seconds(_ nanoseconds: Int64) -> String { String(format: "%.3f s", Double(nanoseconds) / 1e9) }

    // MARK: start-up

    func testValidatorsRunConcurrentlyAtStartUp() throws {
        let inst = try makeInstance()
        let names = ["fxprobe1", "fxprobe2", "fxprobe3"]
        for name in names { try installProbe(inst, name) }
        try setProbeSleep(inst, seconds: 2)
        try inst.appendMasterCf(names.map { "\($0) unix - n n - - \($0)" }.joined(separator: "\n"))
        try inst.start()

        let records = try waitForProbeRecords(inst, count: 3, timeout: 30)
        XCTAssertEqual(Set(records.map(\.name)), Set(names), "one validation per plugin: \(records.map(\.name))")
        let lastStart = records.map(\.start).max() ?? 0, firstEnd = records.map(\.end).min() ?? 0
        XCTAssertLessThan(lastStart, firstEnd, "validators ran one after the other, not at once")
        let spread = (records.map(\.end).max() ?? 0) - (records.map(\.start).min() ?? 0)
        print("start-up: three validators sleeping 2 s each took \(seconds(spread)) from first start to last end")
        for name in names {
            XCTAssertNotNil(inst.waitForLog("command \(name) resolves to plugin"))
        }
    }

    // MARK: reload

    /// A running instance with the probe plugin as fxprobe and a stock smtpd
    /// on a port that has had no client yet (its first client needs a spawn
    /// by the master); fxlate (single_echo) is added to master.cf for the
    /// next reload. Returns the instance and that smtpd's port.
    func startProbeInstance() throws -> (PrivateInstance, Int) {
        let inst = try makeInstance()
        try installProbe(inst, "fxprobe")
        try inst.installFixture("single_echo")
        let port = try Net.freePort()
        try inst.appendMasterCf("""
            127.0.0.1:\(port) inet n - n - - smtpd
            fxprobe unix - n n - - fxprobe
            """)
        try inst.start()
        XCTAssertNotNil(inst.waitForLog("command fxprobe resolves to plugin", timeout: 15))
        try inst.appendMasterCf("fxlate unix - n n - - single_echo")
        return (inst, port)
    }

    /// Reloads with the probe's constructor sleeping `probeSleep` seconds;
    /// returns the log mark from just before the reload.
    func reload(_ inst: PrivateInstance, probeSleep: Int) throws -> Int {
        try setProbeSleep(inst, seconds: probeSleep)
        let mark = inst.logMark()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("reload -- version", since: mark, timeout: 15))
        return mark
    }

    func testReloadKeepsServingWhileAPluginValidates() throws {
        let (inst, port) = try startProbeInstance()
        let before = try probeRecords(inst).count
        let mark = try reload(inst, probeSleep: 4)
        usleep(1_000_000)

        let (connected, banner) = try timedBanner(port: port)
        let report = try statusReport(inst)
        let reported = monotonicNanoseconds()
        XCTAssertTrue(report.contains("name=fxprobe"), "status report during validation: \(report)")
        XCTAssertFalse(report.contains("name=fxlate"), "the new configuration was applied before its plugins were validated")
        XCTAssertNil(UnixSocket.connect(inst.socket("fxlate")).map { close($0) }, "fxlate listens before validation ended")

        let records = try waitForProbeRecords(inst, count: before + 1, timeout: 30)
        let validation = try XCTUnwrap(records.last)
        print("reload: smtpd connect-to-banner \(seconds(banner - connected)) while fxprobe's validator slept 4 s")
        XCTAssertGreaterThan(connected, validation.start, "the client connected before validation began")
        XCTAssertLessThan(banner, validation.end, "smtpd's banner waited for plugin validation")
        XCTAssertLessThan(reported, validation.end, "the status socket waited for plugin validation")

        // Once the validator has answered, the new configuration is in force.
        XCTAssertNotNil(inst.waitForLog("command fxprobe resolves to plugin", since: mark, timeout: 15))
        assertEchoes(inst, "fxlate")
    }

    func testHangingValidatorIsKilledAtTheTimeoutAndTheRestApplied() throws {
        let (inst, port) = try startProbeInstance()
        let mark = try reload(inst, probeSleep: 60)
        // The validator: the master's child still named "master".
        var validators: [pid_t] = []
        waitUntil(timeout: 5) {
            validators = inst.children().filter { Proc.comm($0) == "master" }
            return !validators.isEmpty
        }
        // A child between fork and exec (a service the reload starts) is
        // named "master" for a moment too; the validator stays so named (it
        // sleeps 60 s), so keep only the children still named so a little later.
        usleep(300_000)
        validators = validators.filter { Proc.comm($0) == "master" }
        XCTAssertEqual(validators.count, 1, "one validating child: \(validators)")
        XCTAssertNotNil(Net.banner(port: port, timeout: 15), "smtpd serves while a validator hangs")

        let path = inst.libexec + "/fxprobe.so"
        XCTAssertNotNil(inst.waitForLog(Expected.refused(path, "validation timed out"), since: mark, timeout: 20))
        XCTAssertNotNil(inst.waitForLog("service \"fxprobe\" (private/fxprobe) disabled", since: mark))
        assertEchoes(inst, "fxlate")
        // Killed and reaped: no process, not even a zombie.
        XCTAssertTrue(waitUntil(timeout: 10) { validators.allSatisfy { Proc.info($0) == nil } },
                      "validator left behind: \(validators.map { Proc.info($0)?.state ?? "-" })")
        XCTAssertNotNil(inst.masterPid())
    }

    func testReloadDuringValidationIsAppliedAfterIt() throws {
        let (inst, _) = try startProbeInstance()
        let mark = try reload(inst, probeSleep: 3)
        try inst.appendMasterCf("fxsecond unix - n n - - single_echo")
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("reload requested while plugins are validated", since: mark))
        try setProbeSleep(inst, seconds: 0)

        assertEchoes(inst, "fxsecond")
        // Log lines travel through postlogd: wait for them.
        for line in ["reload -- version", "command fxprobe resolves to plugin"] {
            var count = 0
            waitUntil(timeout: 10) {
                count = inst.logLines(since: mark, containing: line).count
                return count >= 2
            }
            XCTAssertEqual(count, 2, "two reloads, each validating fxprobe once: \(line)")
        }
    }

    // MARK: descriptors

    func testValidatorSeesOnlyItsReportPipeAndStdio() throws {
        let (inst, _) = try startProbeInstance()
        let mark = try reload(inst, probeSleep: 0)
        XCTAssertNotNil(inst.waitForLog("command fxprobe resolves to plugin", since: mark, timeout: 15))

        // No client ever reached fxprobe: every record is a validator's, one
        // at start-up, one at reload. (`postfix start` and `reload` also run
        // `master -t`, which must load no plugin.)
        let records = try waitForProbeRecords(inst, count: 2, timeout: 10)
        XCTAssertEqual(records.count, 2, "one validation at start-up, one at reload: \(records.map(\.pid))")
        let plugin = inst.libexec + "/fxprobe.so"
        for record in records {
            let beyondStdio = record.descriptors.filter { $0.key > 2 }
            let pipes = beyondStdio.filter { $0.value.hasPrefix("pipe:") }
            let pluginFile = beyondStdio.filter { $0.value == plugin }
            XCTAssertEqual(pipes.count, 1, "exactly the report pipe: \(record.descriptors)")
            XCTAssertLessThanOrEqual(pluginFile.count, 1, "the plugin file it is loaded from: \(record.descriptors)")
            XCTAssertEqual(beyondStdio.count, pipes.count + pluginFile.count,
                           "master descriptors visible to plugin code: \(record.descriptors)")
            XCTAssertEqual(Set(record.descriptors.keys).intersection([0, 1, 2]), [0, 1, 2], "stdio: \(record.descriptors)")
        }
    }
}
