// StockBinaries hands out only programs whose bytes Debian's package
// checksums vouch for: a look-alike at the stock path is refused, or (for
// self-contained programs) replaced by the same file unpacked from the
// installed version's .deb, checked against the same checksums.
import Foundation
import XCTest
import TestSupport

final class StockBinariesTests: XCTestCase {
    /// A file that is not stock postconf: a copy of /bin/true.
    func impostor() throws -> String {
        let dir = try scratchDir("impostor")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/postconf"
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: path)
        return path
    }

    func testTheInstalledStockProgramsVerifyInPlace() throws {
        XCTAssertEqual(try StockBinaries.postconf(), "/usr/sbin/postconf")
        XCTAssertEqual(try StockBinaries.postfix(), "/usr/sbin/postfix")
        XCTAssertEqual(try StockBinaries.postmulti(), "/usr/sbin/postmulti")
        XCTAssertEqual(try StockBinaries.master(), "/usr/lib/postfix/sbin/master")
    }

    func testAnImpostorInPlaceIsRefused() throws {
        let fake = try impostor()
        XCTAssertThrowsError(try StockBinaries.verifiedInPlace("/usr/sbin/postconf", runs: [], installedAt: fake)) { error in
            XCTAssertTrue("\(error)".contains("is not /usr/sbin/postconf of Debian's postfix package"), "\(error)")
        }
        XCTAssertThrowsError(try StockBinaries.verifiedInPlace("/usr/sbin/postfix", runs: [fake])) { error in
            XCTAssertTrue("\(error)".contains("\(fake) is not listed"), "\(error)")
        }
    }

    func testAnImpostorOfASelfContainedProgramIsReplacedByThePackagesCopy() throws {
        guard Tools.require(["/usr/bin/dpkg-deb", "/usr/bin/md5sum"], root: true) else { return }
        let fake = try impostor()
        let copy = try StockBinaries.verifiedCopy("/usr/sbin/postconf", runs: StockBinaries.libraries, installedAt: fake)
        XCTAssertNotEqual(copy, fake)
        XCTAssertTrue(copy.hasSuffix("/usr/sbin/postconf") && copy.hasPrefix("/var/tmp/"), copy)
        XCTAssertEqual(readFile(copy), readFile("/usr/sbin/postconf"), "the unpacked copy is the package's postconf")
        let r = try runTool(copy, ["-d", "mail_version"])
        XCTAssertEqual(r.stdout, "mail_version = 3.7.11\n", r.stderr)
    }
}
