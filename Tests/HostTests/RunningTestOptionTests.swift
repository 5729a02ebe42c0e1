// RunningTestOptionTests.swift - `master -t` ("is a master running?"), which
// postfix-script asks before start and for status: as stock, the answer
// depends on the pid file lock alone, not on whether master.cf parses. The
// same checks run under the stock master and ours.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class RunningTestOptionTests: InstanceTestCase {
    /// `master -t` as postfix-script runs it: not a process group leader
    /// (Foundation's Process makes one, and there the master's setsid()
    /// fails and it exits 1 whatever the lock says), so through setsid(1).
    static func runningTest(_ inst: PrivateInstance) throws -> CommandResult {
        try runCommand("/usr/bin/setsid", ["--wait", inst.libexec + "/master", "-t", "-c", inst.etc], timeout: 30)
    }

    /// A line stock's master.cf parser rejects (missing '}').
    static let brokenLine = "broken unix - n n - 1 smtpd -o { smtpd_banner = b"

    func testBrokenMasterCfDoesNotLookLikeARunningMaster() throws {
        for master in [TestEnv.stockMaster, TestEnv.masterUnderTest] {
            let inst = try makeInstance(master: master)
            try inst.appendMasterCf(Self.brokenLine)
            let test = try Self.runningTest(inst)
            XCTAssertEqual(test.status, 0, "\(master) -t, no master running, broken master.cf: \(test.output)")
            let mark = inst.logMark()
            XCTAssertEqual(try inst.postfix("status").status, 1, "\(master): postfix status")
            XCTAssertNotNil(inst.waitForLog("the Postfix mail system is not running", since: mark),
                            "\(master): postfix status claims a running master:\n\(inst.log(since: mark))")
        }
    }

    func testRunningMasterIsSeenWhatEverMasterCfSays() throws {
        for master in [TestEnv.stockMaster, TestEnv.masterUnderTest] {
            let inst = try makeInstance(master: master)
            try inst.start()
            try inst.appendMasterCf(Self.brokenLine)
            let test = try Self.runningTest(inst)
            XCTAssertEqual(test.status, 1, "\(master) -t with a master running: \(test.output)")
            inst.stopAll()
        }
    }
}
