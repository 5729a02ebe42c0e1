// FrozenParameterTests.swift - parameters a reload cannot change.
//
// inet_interfaces, inet_protocols and queue_directory keep their start-up
// values over `postfix reload`, with the stock warnings; mail keeps flowing
// on the listeners bound at start-up. The same edit runs under the stock
// master and under ours, and the warnings must be the same lines.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class FrozenParameterTests: InstanceTestCase {

    private func warningsAfterReload(master: String) throws -> [String] {
        let inst = try makeInstance(master: master)
        try inst.start()
        let mark = inst.logMark()
        let edit = try runCommand("/usr/sbin/postconf", ["-c", inst.etc, "-e", "inet_interfaces=loopback-only",
                                                         "inet_protocols=ipv4, ipv4"], timeout: 30)
        XCTAssertEqual(edit.status, 0, edit.output)
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("to change inet_protocols, stop and start Postfix", since: mark, timeout: 30),
                        "\(master): no frozen-parameter warning:\n\(inst.log(since: mark))")
        // The inet_interfaces lines come after the inet_protocols ones.
        XCTAssertNotNil(inst.waitForLog("to change inet_interfaces, stop and start Postfix", since: mark, timeout: 30),
                        "\(master): no inet_interfaces warning:\n\(inst.log(since: mark))")
        usleep(300_000)
        XCTAssertTrue(Net.greets(port: inst.smtpPort), "\(master): smtpd no longer answers")
        let lines = inst.logLines(since: mark, containing: "/master[").filter { $0.contains("warning:") }
        return lines.map { line in
            let text = line.components(separatedBy: "warning: ").dropFirst().joined(separator: "warning: ")
            return text.replacingOccurrences(of: String(inst.smtpPort), with: "PORT")
        }
    }

    func testReloadKeepsFrozenParametersWithStockWarnings() throws {
        let stock = try warningsAfterReload(master: TestEnv.stockMaster)
        let ours = try warningsAfterReload(master: TestEnv.masterUnderTest)
        XCTAssertTrue(stock.contains("ignoring inet_protocols parameter value change"), "stock: \(stock)")
        XCTAssertTrue(stock.contains { $0.hasSuffix(": ignoring inet_interfaces change") }, "stock: \(stock)")
        XCTAssertEqual(ours, stock)
    }
}
