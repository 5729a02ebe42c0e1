// SyslogTests.swift - logging through syslog(3) when maillog_file is empty,
// under syslog_name and syslog_facility, compared with the stock master.
//
// Each master runs in the foreground (-d) with an exit time (-e) inside a
// private mount namespace whose /dev/log is a datagram socket of the test
// (runCapturingSyslog). The master's own records must carry the same
// priority, tag and text as stock's.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class SyslogTests: InstanceTestCase {

    /// The master's records as "<PRI> tag: text", pids and times removed.
    private func masterRecords(master: String) throws -> [String] {
        let inst = try makeInstance(master: master)
        let edit = try runCommand("/usr/sbin/postconf", ["-c", inst.etc, "-e", "maillog_file=",
                                                         "syslog_name=mhtest", "syslog_facility=local3"], timeout: 30)
        XCTAssertEqual(edit.status, 0, edit.output)
        let (result, records) = try runCapturingSyslog(inst.libexec + "/master", ["-d", "-e", "2", "-c", inst.etc],
                                                       socketDir: inst.dir, timeout: 30)
        XCTAssertFalse(result.timedOut, "master -e 2 did not exit")
        inst.stopAll()
        return records.compactMap(Self.normalised).filter { $0.contains("mhtest/master:") }
    }

    /// "<158>Nov 22 02:00:00 mhtest/master[123]: text" -> "<158> mhtest/master: text"
    private static func normalised(_ record: String) -> String? {
        guard record.hasPrefix("<"), let close = record.firstIndex(of: ">") else { return nil }
        let priority = record[...close]
        guard let tagStart = record.range(of: "mhtest/") else { return String(priority) + " " }
        var rest = String(record[tagStart.lowerBound...])
        if let open = rest.firstIndex(of: "["), let end = rest.firstIndex(of: "]"), open < end {
            rest.removeSubrange(open...end)
        }
        return String(priority) + " " + rest.replacingOccurrences(of: "\n", with: "")
    }

    func testMasterLogsThroughSyslogWithNameAndFacilityLikeStock() throws {
        let stock = try masterRecords(master: TestEnv.stockMaster)
        let ours = try masterRecords(master: TestEnv.masterUnderTest)
        // local3 (19) * 8 + info (6) = 158
        let expected = ["<158> mhtest/master: master exit time has arrived"]
        for (who, records) in [("stock", stock), ("ours", ours)] {
            XCTAssertTrue(records.contains { $0.hasPrefix("<158> mhtest/master: daemon started -- version 3.7.11, configuration ") },
                          "\(who): no start record: \(records)")
            XCTAssertTrue(records.contains(expected[0]), "\(who): no exit record: \(records)")
        }
        XCTAssertEqual(ours.map { $0.replacingOccurrences(of: instances[1].dir, with: "DIR") },
                       stock.map { $0.replacingOccurrences(of: instances[0].dir, with: "DIR") },
                       "the master's syslog records differ from stock's")
    }
}
