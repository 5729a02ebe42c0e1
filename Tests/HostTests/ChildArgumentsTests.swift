// ChildArgumentsTests.swift - argv for children, against vectors observed
// with the stock 3.7.11 master (shared/reference/master-protocol.md 3.1).
import XCTest
import PostfixConfig
@testable import HostCommon

final class ChildArgumentsTests: XCTestCase {
    private func entries(_ text: String, interfaces: String = "127.0.0.1",
                         protocols: String = "ipv4") throws -> [MasterEntry] {
        let options = MasterParseOptions(defaultProcessLimit: 100, compatibilityLevel: "3.6",
                                         disabled: ServiceDisableFilter(""), inetInterfaces: interfaces,
                                         inetProtocols: protocols, knownTcpPorts: "smtp=25")
        return try MasterConfig.parse(text: text, path: "/x/master.cf", options: options).entries
    }

    private func argv(_ line: String, flags: ChildFlags = ChildFlags(), stress: Bool = false,
                      interfaces: String = "127.0.0.1", protocols: String = "ipv4") throws -> [String] {
        let entry = try XCTUnwrap(entries(line, interfaces: interfaces, protocols: protocols).first)
        return ChildArguments.build(entry, flags: flags, stressActive: stress)
    }

    func testQueueManager() throws {
        XCTAssertEqual(try argv("qmgr unix n - n 300 1 qmgr"), ["qmgr", "-l", "-t", "unix", "-u"])
    }

    func testPickupOnFifo() throws {
        XCTAssertEqual(try argv("pickup fifo n - n 60 1 pickup"), ["pickup", "-l", "-t", "fifo", "-u"])
    }

    func testUnlimitedNamedInetService() throws {
        XCTAssertEqual(try argv("127.0.0.1:10025 inet n - n - 0 smtpd"),
                       ["smtpd", "-z", "-n", "127.0.0.1:10025", "-t", "inet", "-u"])
    }

    func testLoopbackSmtpWithOptionsAndBraces() throws {
        let line = "smtp inet n - y - - smtpd -o { smtpd_client_restrictions = permit_mynetworks, reject } -o syslog_name=postfix/$service_name"
        XCTAssertEqual(try argv(line),
                       ["smtpd", "-n", "smtp", "-t", "inet", "-u", "-c",
                        "-o", "smtpd_client_restrictions = permit_mynetworks, reject",
                        "-o", "syslog_name=postfix/$service_name"])
    }

    func testWildcardServiceGetsStressAndSocketCount() throws {
        let plain = try argv("10040 inet n - n - - smtpd -o x=1", interfaces: "all", protocols: "all")
        XCTAssertEqual(plain, ["smtpd", "-n", "10040", "-t", "inet", "-u", "-o", "stress=", "-s", "2", "-o", "x=1"])
        let stressed = try argv("10040 inet n - n - - smtpd", stress: true, interfaces: "all", protocols: "ipv4")
        XCTAssertEqual(stressed, ["smtpd", "-n", "10040", "-t", "inet", "-u", "-o", "stress=yes"])
    }

    func testMasterFlagsComeAfterType() throws {
        let flags = ChildFlags(debug: true, verbose: true)
        XCTAssertEqual(try argv("cleanup unix n y n - 0 cleanup", flags: flags),
                       ["cleanup", "-z", "-t", "unix", "-d", "-v", "-u"])
    }

    func testUnlimitedWildcardIsNotStressEligible() throws {
        let entry = try XCTUnwrap(entries("10041 inet n - n - 0 smtpd", interfaces: "all").first)
        XCTAssertFalse(ChildArguments.isStressEligible(entry))
    }
}
