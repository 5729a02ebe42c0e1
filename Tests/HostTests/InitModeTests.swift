// InitModeTests.swift - `master -i`: the master as PID 1 of a container.
//
// Run in a new PID namespace (unshare --pid --fork) the master is PID 1: it
// must serve mail as usual, and exit 0 on SIGTERM (it is init: no process
// group to kill, no signal re-raised). Outside PID 1, -i is refused with the
// stock message. Both are checked for stock and ours.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class InitModeTests: InstanceTestCase {

    private func runAsInit(master: String) throws {
        let inst = try makeInstance(master: master)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["--pid", "--fork", "--mount-proc", inst.libexec + "/master", "-i", "-c", inst.etc]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // The master is the child of unshare in our namespace, PID 1 in its own.
        var masterPid: pid_t?
        XCTAssertTrue(waitUntil(timeout: 15) {
            masterPid = Proc.children(of: process.processIdentifier).first
            return masterPid != nil && Net.greets(port: inst.smtpPort)
        }, "\(master) -i: smtpd never answered\n\(inst.logTail(20))")
        let pid = try XCTUnwrap(masterPid)
        XCTAssertEqual((try? String(contentsOfFile: inst.queue + "/pid/master.pid", encoding: .utf8))?
                        .trimmingCharacters(in: .whitespacesAndNewlines), "1", "\(master): the pid file holds its PID 1")
        kill(pid, SIGTERM)
        XCTAssertTrue(waitUntil(timeout: 15) { !process.isRunning }, "\(master) -i: did not exit on SIGTERM")
        XCTAssertEqual(process.terminationStatus, 0, "\(master) -i: exit status on SIGTERM")
    }

    func testMasterRunsAsPidOneAndExitsCleanlyOnTerm() throws {
        try runAsInit(master: TestEnv.stockMaster)
        try runAsInit(master: TestEnv.masterUnderTest)
    }

    func testInitModeOutsidePidOneIsRefused() throws {
        for master in [TestEnv.stockMaster, TestEnv.masterUnderTest] {
            let inst = try makeInstance(master: master)
            // Exit status 1 is any fatal error: the reason, logged to syslog
            // only (before main.cf is read), must be this one.
            let (r, syslog) = try runCapturingSyslog(inst.libexec + "/master", ["-i", "-c", inst.etc],
                                                     socketDir: inst.dir, timeout: 30)
            XCTAssertEqual(r.status, 1, "\(master) -i outside PID 1 must fail")
            XCTAssertTrue(syslog.contains { $0.hasSuffix("fatal: -i is allowed only for PID 1 process") },
                          "\(master): \(syslog)")
        }
    }
}
