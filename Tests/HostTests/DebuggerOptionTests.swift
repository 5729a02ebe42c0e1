// DebuggerOptionTests.swift - `master -D` runs debugger_command on the master.
//
// debugger_command is expanded with process_name and process_id and run by
// /bin/sh before services start; the same check runs under stock and ours.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class DebuggerOptionTests: InstanceTestCase {

    private func debuggerRecord(master: String) throws -> (recorded: String, pid: pid_t?) {
        let inst = try makeInstance(master: master)
        let out = inst.dir + "/debugger.out"
        let edit = try runCommand("/usr/sbin/postconf", ["-c", inst.etc, "-e",
                                                         "debugger_command=echo $process_name $process_id > \(out)"],
                                  timeout: 30)
        XCTAssertEqual(edit.status, 0, edit.output)
        let r = try runCommand("/usr/bin/setsid", ["--wait", inst.libexec + "/master", "-D", "-w", "-c", inst.etc], timeout: 60)
        XCTAssertEqual(r.status, 0, "\(master) -D -w: \(r.output)\n\(inst.logTail(20))")
        XCTAssertTrue(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: out) }, "\(master): debugger_command did not run")
        let text = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = inst.masterPid()
        inst.stopAll()
        return (text, pid)
    }

    func testDebuggerCommandRunsWithProcessNameAndIdLikeStock() throws {
        for master in [TestEnv.stockMaster, TestEnv.masterUnderTest] {
            let (text, pid) = try debuggerRecord(master: master)
            let masterPid = try XCTUnwrap(pid, "\(master) not running after -D")
            XCTAssertEqual(text, "master \(masterPid)", "\(master): debugger_command saw the wrong process")
        }
    }
}
