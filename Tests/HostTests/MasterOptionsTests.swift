// MasterOptionsTests.swift - the master command line, as getopt("+c:De:distvw").
import XCTest
@testable import Host

final class MasterOptionsTests: XCTestCase {
    func testClusteredAndSeparateArguments() throws {
        let options = try MasterOptions.parse(["-vvd", "-c", "/tmp/etc", "-e5"])
        XCTAssertEqual(options.verbosity, 2)
        XCTAssertTrue(options.foreground)
        XCTAssertEqual(options.configDirectory, "/tmp/etc")
        XCTAssertEqual(options.exitAfter, 5)
    }

    func testAttachedConfigDirectory() throws {
        XCTAssertEqual(try MasterOptions.parse(["-c/x/y", "-w"]).configDirectory, "/x/y")
    }

    func testOperandIsUsageError() {
        XCTAssertThrowsError(try MasterOptions.parse(["-d", "extra"])) { error in
            XCTAssertEqual(error as? MasterOptions.ParseError, .message(MasterOptions.usage))
        }
    }

    func testUnknownOptionIsUsageError() {
        XCTAssertThrowsError(try MasterOptions.parse(["-x"])) { error in
            XCTAssertEqual(error as? MasterOptions.ParseError, .message(MasterOptions.usage))
        }
    }

    func testTestAndWaitConflict() {
        XCTAssertThrowsError(try MasterOptions.parse(["-t", "-w"])) { error in
            XCTAssertEqual(error as? MasterOptions.ParseError,
                           .message("the -t and -w options cannot be used together"))
        }
    }

    func testInitModeConflicts() {
        for other in ["-D", "-d", "-w"] {
            XCTAssertThrowsError(try MasterOptions.parse(["-i", other])) { error in
                XCTAssertEqual(error as? MasterOptions.ParseError,
                               .message("the -i option cannot be used with -D, -d, or -w"))
            }
        }
    }

    func testMissingOptionArgument() {
        XCTAssertThrowsError(try MasterOptions.parse(["-c"]))
    }
}
