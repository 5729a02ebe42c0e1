// main.cf parsing, overrides, typed readers and the default table.

import XCTest
@testable import PostfixConfig

final class MainConfigTests: XCTestCase {
    func testNameValueTrimming() throws {
        let config = try parseMain("a=b\nc   =   d e  \nf =\ng\t=\tx\n")
        XCTAssertEqual(config.rawValue("a"), "b")
        XCTAssertEqual(config.rawValue("c"), "d e")
        XCTAssertEqual(config.rawValue("f"), "")
        XCTAssertEqual(config.rawValue("g"), "x")
        XCTAssertNil(config.rawValue("h"))
        XCTAssertEqual(config.explicitNames, ["a", "c", "f", "g"])
    }

    func testValueMayContainEqualsAndBraces() throws {
        let config = try parseMain("a = b = c\nlist = { x y }, z\n")
        XCTAssertEqual(config.rawValue("a"), "b = c")
        XCTAssertEqual(try config.value("list"), "{ x y }, z")
    }

    func testOverridingEarlierEntryWarns() throws {
        let config = try parseMain("a = 1\nb = 2\na = 3\nb = 2\n")
        XCTAssertEqual(config.rawValue("a"), "3")
        XCTAssertEqual(config.warnings, ["/cfg/main.cf, line 3: overriding earlier entry: a=1"])
        XCTAssertEqual(config.explicitNames, ["a", "b"])
    }

    func testOverridesWinOverFile() throws {
        let config = try parseMain("a = 1\nb = $a\n").with(overrides: [("a", "2"), ("c", "3"), ("a", "4")])
        XCTAssertEqual(config.rawValue("a"), "4")
        XCTAssertEqual(try config.value("b"), "4")
        XCTAssertEqual(config.explicitNames, ["a", "b", "c"])
    }

    func testDefaultsFillUnsetParameters() throws {
        let config = try parseMain("")
        XCTAssertEqual(try config.value("daemon_directory"), "/usr/lib/postfix/sbin")
        XCTAssertEqual(try config.value("default_process_limit"), "100")
        XCTAssertEqual(try config.value("syslog_name"), "postfix")
        XCTAssertEqual(try config.value("config_directory"), "/cfg")
        XCTAssertEqual(try config.value("no_such_parameter"), "")
    }

    func testConfigDirectoryIsPresetLikeStock() throws {
        let config = try parseMain("config_directory = /elsewhere\n")
        XCTAssertEqual(try config.value("config_directory"), "/elsewhere")
        XCTAssertEqual(config.warnings, ["/cfg/main.cf, line 1: overriding earlier entry: config_directory=/cfg"])
        XCTAssertEqual(try parseMain("config_directory = /cfg\n").warnings, [])
        XCTAssertEqual(config.explicitNames, ["config_directory"])
    }

    func testSyslogNameFollowsMultiInstanceName() throws {
        let config = try parseMain("multi_instance_name = postfix-out\n")
        XCTAssertEqual(try config.value("syslog_name"), "postfix-out")
    }

    func testParameterDefaultsTable() {
        XCTAssertEqual(ParameterDefaults.value("mail_owner"), "postfix")
        XCTAssertEqual(ParameterDefaults.value("known_tcp_ports"), "lmtp=24, smtp=25, smtps=submissions=465, submission=587")
        XCTAssertEqual(ParameterDefaults.value("maillog_file_prefixes"), "/var, /dev/stdout")
        XCTAssertEqual(ParameterDefaults.value("maillog_file"), "")
        XCTAssertNil(ParameterDefaults.value("bogus_parameter_name"))
        XCTAssertTrue(ParameterDefaults.names.contains("myhostname"))
        XCTAssertGreaterThan(ParameterDefaults.names.count, 1000)
        let host = ParameterDefaults.value("myhostname") ?? ""
        XCTAssertTrue(host.contains("."))
        XCTAssertTrue(host.hasSuffix("." + (ParameterDefaults.value("mydomain") ?? "?")))
    }

    func testInteger() throws {
        let config = try parseMain("a = 42\nb = -7\nc = 5x\nd =\ne = 99999999999\nf = $a\ng =  12\n")
        XCTAssertEqual(try config.integer("a"), 42)
        XCTAssertEqual(try config.integer("b"), -7)
        XCTAssertEqual(try config.integer("f"), 42)
        XCTAssertEqual(try config.integer("default_process_limit"), 100)
        assertConfigError("bad numerical configuration: c = 5x") { try config.integer("c") }
        assertConfigError("bad numerical configuration: d = ") { try config.integer("d") }
        assertConfigError("bad numerical configuration: e = 99999999999") { try config.integer("e") }
    }

    func testBoolean() throws {
        let config = try parseMain("a = yes\nb = NO\nc = Yes\nd = true\ne =\n")
        XCTAssertTrue(try config.boolean("a"))
        XCTAssertFalse(try config.boolean("b"))
        XCTAssertTrue(try config.boolean("c"))
        XCTAssertFalse(try config.boolean("multi_instance_enable"))
        assertConfigError("bad boolean configuration: d = true") { try config.boolean("d") }
        assertConfigError("bad boolean configuration: e = ") { try config.boolean("e") }
    }

    func testSeconds() throws {
        let config = try parseMain("a = 10\nb = 2m\nc = 3h\nd = 1d\ne = 1w\nf = 5s\ng = 5x\nh = -1\ni =\nj = 7sec\n")
        XCTAssertEqual(try config.seconds("a"), 10)
        XCTAssertEqual(try config.seconds("b"), 120)
        XCTAssertEqual(try config.seconds("c"), 10800)
        XCTAssertEqual(try config.seconds("d"), 86400)
        XCTAssertEqual(try config.seconds("e"), 604800)
        XCTAssertEqual(try config.seconds("f"), 5)
        XCTAssertEqual(try config.seconds("j"), 7)
        XCTAssertEqual(try config.seconds("service_throttle_time"), 60)
        XCTAssertEqual(try config.seconds("daemon_timeout"), 18000)
        XCTAssertEqual(try config.seconds("a", defaultUnit: UInt8(ascii: "h")), 36000)
        assertConfigError("parameter g: bad time value or unit: 5x") { try config.seconds("g") }
        assertConfigError("parameter h: bad time value or unit: -1") { try config.seconds("h") }
        assertConfigError("parameter i: bad time value or unit: ") { try config.seconds("i") }
    }

    func testList() throws {
        let config = try parseMain("a = x, y  z,,\tw\nb = { A = 1 2 }, B=3 {C}\nc = {broken\n")
        XCTAssertEqual(try config.list("a"), ["x", "y", "z", "w"])
        XCTAssertEqual(try config.list("b"), ["A = 1 2", "B=3", "C"])
        XCTAssertEqual(try config.list("maillog_file_prefixes"), ["/var", "/dev/stdout"])
        XCTAssertEqual(try config.list("import_environment"),
                       ["MAIL_CONFIG", "MAIL_DEBUG", "MAIL_LOGTAG", "TZ", "XAUTHORITY", "DISPLAY",
                        "LANG=C", "POSTLOG_SERVICE", "POSTLOG_HOSTNAME"])
        assertConfigError("c: missing '}' in \"{broken\"") { try config.list("c") }
    }

    func testSplitConfigList() {
        XCTAssertEqual(splitConfigList(""), [])
        XCTAssertEqual(splitConfigList("TZ { LANG = C } X=1"), ["TZ", "LANG = C", "X=1"])
        XCTAssertEqual(splitConfigList("a{b c}d, e"), ["a{b c}d", "e"])
        XCTAssertEqual(splitConfigList("{a}b"), ["{a}b"])
    }

    func testLoadReadsFileAndReportsMissingFile() throws {
        let scratch = try ScratchConfig(main: "a = 1\n")
        let config = try MainConfig.load(configDirectory: scratch.directory)
        XCTAssertEqual(config.path, scratch.directory + "/main.cf")
        XCTAssertEqual(config.rawValue("a"), "1")
        assertConfigError("open /nonexistent-dir/main.cf: No such file or directory") {
            try MainConfig.load(configDirectory: "/nonexistent-dir")
        }
    }

    func testLogicalLineWarningsAreKept() throws {
        let config = try parseMain("  stray\na = 1\n")
        XCTAssertEqual(config.warnings, ["/cfg/main.cf: logical line must not start with whitespace: \"  stray\""])
    }
}
