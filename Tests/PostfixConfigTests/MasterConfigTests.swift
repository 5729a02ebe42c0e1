// master.cf parsing: fields, defaults, names, wakeup, limits, arguments,
// duplicates, service disabling and inet address resolution.

import Glibc
import XCTest
@testable import PostfixConfig

final class MasterConfigTests: XCTestCase {
    private func entry(_ line: String, options: MasterParseOptions = testOptions()) throws -> MasterEntry {
        let config = try parseMaster(line + "\n", options: options)
        guard let first = config.entries.first else {
            throw ConfigError("no entry parsed from: \(line)")
        }
        return first
    }

    func testTypicalUnixEntry() throws {
        let e = try entry("cleanup   unix  n       -       y       -       0       cleanup")
        XCTAssertEqual(e.name, "cleanup")
        XCTAssertEqual(e.type, .unix)
        XCTAssertFalse(e.isPrivate)
        XCTAssertTrue(e.unprivileged)
        XCTAssertTrue(e.chroot)
        XCTAssertEqual(e.wakeupTime, 0)
        XCTAssertFalse(e.wakeupConditional)
        XCTAssertEqual(e.processLimit, 0)
        XCTAssertEqual(e.command, "cleanup")
        XCTAssertEqual(e.arguments, [])
        XCTAssertEqual(e.line, 1)
        XCTAssertEqual(e.fields, ["cleanup", "unix", "n", "-", "y", "-", "0", "cleanup"])
        XCTAssertEqual(e.canonicalName, "public/cleanup")
        XCTAssertEqual(e.key, "public/cleanup/unix")
        XCTAssertEqual(e.addresses, [])
        XCTAssertTrue(e.isLocalOnly)
    }

    func testDashDefaults() throws {
        let e = try entry("rewrite unix - - - - - trivial-rewrite", options: testOptions(processLimit: 42))
        XCTAssertTrue(e.isPrivate)
        XCTAssertTrue(e.unprivileged)
        XCTAssertFalse(e.chroot)            // compatibility_level 3.6
        XCTAssertEqual(e.processLimit, 42)
        XCTAssertEqual(e.canonicalName, "private/rewrite")
    }

    func testChrootDefaultBelowLevelOneLogsInfo() throws {
        let config = try parseMaster("a unix - - - - - a\nb unix - - n - - b\n",
                                     options: testOptions(compatibilityLevel: "0"))
        XCTAssertEqual(config.entries.map(\.chroot), [true, false])
        XCTAssertEqual(config.infos, ["/cfg/master.cf: line 1: using backwards-compatible default setting chroot=y"])
    }

    func testAllTypesAndNames() throws {
        let config = try parseMaster("""
        p1 unix n - n - - a
        p2 unix-dgram - - n - - b
        p3 fifo n - n - - c
        p4 pass - - n - - d
        sub/dir unix - - n - - e
        """)
        XCTAssertEqual(config.entries.map(\.canonicalName),
                       ["public/p1", "private/p2", "public/p3", "private/p4", "private/sub/dir"])
        XCTAssertEqual(config.entries.map(\.type), [.unix, .unixDgram, .fifo, .pass, .unix])
        XCTAssertEqual(config.entries.map(\.isLocalOnly), [true, true, true, false, true])
    }

    func testWakeupForms() throws {
        XCTAssertEqual(try entry("q unix n - n 300? 1 qmgr").wakeupTime, 300)
        XCTAssertTrue(try entry("q unix n - n 300? 1 qmgr").wakeupConditional)
        XCTAssertFalse(try entry("q unix n - n 60 1 pickup").wakeupConditional)
        XCTAssertFalse(try entry("q unix n - n 0? 1 pickup").wakeupConditional)
        XCTAssertEqual(try entry("q unix n - n 0? 1 pickup").wakeupTime, 0)
        XCTAssertEqual(try entry("q unix n - n 5x 1 pickup").wakeupTime, 5)
    }

    func testProcessLimitAtoiSemantics() throws {
        XCTAssertEqual(try entry("a unix - - n - 5x cmd").processLimit, 5)
        XCTAssertEqual(try entry("a unix - - n - 0 cmd").processLimit, 0)
        XCTAssertEqual(try entry("a unix - - n - 007 cmd").processLimit, 7)
    }

    func testArgumentsAndBraceGroups() throws {
        let e = try entry("a unix - - n - - cmd -v {one two} { spaced } x{y z}w -o {a = b c} -o d=e $x ${y}")
        XCTAssertEqual(e.arguments, ["-v", "one two", "spaced", "x{y z}w", "-o", "a = b c", "-o", "d=e", "$x", "${y}"])
    }

    func testNestedBraceGroup() throws {
        XCTAssertEqual(try entry("a unix - - n - - cmd {x {y} z}").arguments, ["x {y} z"])
        XCTAssertEqual(try entry("a unix - - n - - cmd {}").arguments, [""])
    }

    func testContinuationLinesBecomeArguments() throws {
        let config = try parseMaster("""
        submission inet n - y - - smtpd
        # comment inside
          -o syslog_name=postfix/submission
          -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
        pickup unix n - y 60 1 pickup
        """)
        XCTAssertEqual(config.entries.count, 2)
        XCTAssertEqual(config.entries[0].arguments,
                       ["-o", "syslog_name=postfix/submission", "-o",
                        "smtpd_client_restrictions = permit_sasl_authenticated, reject"])
        XCTAssertEqual(config.entries[1].line, 5)
    }

    func testTabsAndCarriageReturnsSeparateFields() throws {
        let e = try entry("a\tunix\t-\t-\tn\t-\t-\tcmd\targ\r")
        XCTAssertEqual(e.command, "cmd")
        XCTAssertEqual(e.arguments, ["arg"])
    }

    func testDuplicateLastWinsAtFirstPosition() throws {
        let config = try parseMaster("""
        smtp inet n - n - - smtpd -v
        pickup unix n - n 60 1 pickup
        25 inet n - n - 3 smtpd
        """)
        XCTAssertEqual(config.entries.count, 2)
        XCTAssertEqual(config.entries[0].name, "25")
        XCTAssertEqual(config.entries[0].processLimit, 3)
        XCTAssertEqual(config.entries[0].arguments, [])
        XCTAssertEqual(config.entries[1].name, "pickup")
        XCTAssertEqual(config.warnings, ["duplicate master.cf entry for service \"25\" (25) -- using the last entry"])
    }

    func testSameNameDifferentTypeIsNotDuplicate() throws {
        let config = try parseMaster("x unix - - n - - a\nx fifo - - n - - b\nx unix n - n - - c\n")
        XCTAssertEqual(config.entries.map(\.key), ["private/x/unix", "private/x/fifo", "public/x/unix"])
        XCTAssertEqual(config.warnings, [])
    }

    func testOrphanContinuationWarning() throws {
        let config = try parseMaster("  -o x=y\na unix - - n - - a\n")
        XCTAssertEqual(config.entries.count, 1)
        XCTAssertEqual(config.warnings, ["/cfg/master.cf: logical line must not start with whitespace: \"  -o x=y\""])
    }

    // MARK: inet names and addresses

    func testInetNames() throws {
        let cases: [(String, String)] = [
            ("smtp", "25"), ("25", "25"), (":25", "25"), ("submission", "587"), ("smtps", "465"),
            ("submissions", "465"), ("127.0.0.1:10025", "[127.0.0.1]:10025"),
            ("0.0.0.0:10026", "[0.0.0.0]:10026"), ("[::1]:smtp", "[::1]:25"),
            ("[IPv6:::1]:10027", "[::1]:10027"), ("[ipv6:0:0::1]:10027", "[::1]:10027"),
            ("::1:smtp", "[::1]:25"), ("localhost:2525", "[localhost]:2525"),
            ("[127.0.0.1]:submission", "[127.0.0.1]:587"), ("domain", "53"),
        ]
        for (field, canonical) in cases {
            let e = try entry("\(field) inet n - n - - smtpd")
            XCTAssertEqual(e.canonicalName, canonical, field)
        }
    }

    func testUnknownPortNameKeepsRawName() throws {
        let e = try entry("nosuchport inet n - n - - smtpd")
        XCTAssertEqual(e.canonicalName, "nosuchport")
        XCTAssertEqual(e.inetPort, "nosuchport")
        XCTAssertNil(e.inetPortNumber)
        XCTAssertEqual(e.addresses.map(\.port), [0, 0])
    }

    func testWildcardAddressesFollowProtocols() throws {
        let all = try entry("smtp inet n - n - - smtpd").addresses
        XCTAssertEqual(all, [ResolvedAddress(family: AF_INET, host: "0.0.0.0", port: 25),
                             ResolvedAddress(family: AF_INET6, host: "::", port: 25)])
        let v4 = try entry("smtp inet n - n - - smtpd", options: testOptions(protocols: "ipv4")).addresses
        XCTAssertEqual(v4, [ResolvedAddress(family: AF_INET, host: "0.0.0.0", port: 25)])
        let v6 = try entry("smtp inet n - n - - smtpd", options: testOptions(protocols: "ipv6")).addresses
        XCTAssertEqual(v6, [ResolvedAddress(family: AF_INET6, host: "::", port: 25)])
        XCTAssertFalse(try entry("smtp inet n - n - - smtpd").isLocalOnly)
    }

    func testExplicitHostAddresses() throws {
        let e = try entry("127.0.0.1:10025 inet n - n - - smtpd")
        XCTAssertEqual(e.addresses, [ResolvedAddress(family: AF_INET, host: "127.0.0.1", port: 10025)])
        XCTAssertTrue(e.isLocalOnly)
        XCTAssertTrue(e.addresses[0].isLoopback)
        let six = try entry("[::1]:10026 inet n - n - - smtpd")
        XCTAssertEqual(six.addresses, [ResolvedAddress(family: AF_INET6, host: "::1", port: 10026)])
        XCTAssertTrue(six.isLocalOnly)
        let local = try entry("localhost:10027 inet n - n - - smtpd", options: testOptions(protocols: "ipv4"))
        XCTAssertEqual(local.addresses.map(\.host), ["127.0.0.1"])
    }

    func testInetInterfacesSetting() throws {
        let loop = try entry("smtp inet n - n - - smtpd", options: testOptions(interfaces: "loopback-only"))
        XCTAssertTrue(loop.isLocalOnly)
        XCTAssertTrue(loop.addresses.contains(ResolvedAddress(family: AF_INET, host: "127.0.0.1", port: 25)))
        let listed = try entry("smtp inet n - n - - smtpd", options: testOptions(interfaces: "127.0.0.1, [::1] 127.0.0.1"))
        XCTAssertEqual(listed.addresses.map(\.host), ["127.0.0.1", "::1"])
        let upper = try entry("smtp inet n - n - - smtpd", options: testOptions(interfaces: "ALL", protocols: "ipv4"))
        XCTAssertEqual(upper.addresses.map(\.host), ["0.0.0.0"])
        assertConfigError("config variable inet_interfaces: host not found: no-such-host.invalid") {
            try parseMaster("smtp inet n - n - - smtpd\n", options: testOptions(interfaces: "no-such-host.invalid"))
        }
    }

    func testResolvedAddressLoopback() {
        XCTAssertTrue(ResolvedAddress(family: AF_INET, host: "127.8.9.10", port: 1).isLoopback)
        XCTAssertFalse(ResolvedAddress(family: AF_INET, host: "10.0.0.1", port: 1).isLoopback)
        XCTAssertTrue(ResolvedAddress(family: AF_INET6, host: "::1", port: 1).isLoopback)
        XCTAssertFalse(ResolvedAddress(family: AF_INET6, host: "::", port: 1).isLoopback)
    }

    func testKnownTcpPortsOverrideServices() {
        let ports = KnownTcpPorts("lmtp=24, smtp=2525, a=b=99")
        XCTAssertEqual(ports.resolve("smtp"), 2525)
        XCTAssertEqual(ports.resolve("a"), 99)
        XCTAssertEqual(ports.resolve("b"), 99)
        XCTAssertEqual(ports.resolve("domain"), 53)
        XCTAssertEqual(ports.resolve("10025"), 10025)
        XCTAssertNil(ports.resolve("no-such-service"))
    }

    // MARK: master_service_disable

    func testServiceDisableFilter() {
        let filter = ServiceDisableFilter("inet, pickup/unix qmgr.unix !smtp/inet smtp/inet")
        XCTAssertTrue(filter.isDisabled(name: "foo", type: "inet"))
        XCTAssertTrue(filter.isDisabled(name: "pickup", type: "unix"))
        XCTAssertTrue(filter.isDisabled(name: "qmgr", type: "unix"))
        XCTAssertFalse(filter.isDisabled(name: "cleanup", type: "unix"))
        let negated = ServiceDisableFilter("!smtp/inet, inet")
        XCTAssertFalse(negated.isDisabled(name: "smtp", type: "inet"))
        XCTAssertTrue(negated.isDisabled(name: "submission", type: "inet"))
        XCTAssertTrue(ServiceDisableFilter("!!INET").isDisabled(name: "x", type: "inet"))
        XCTAssertTrue(ServiceDisableFilter("SMTP/Inet").isDisabled(name: "smtp", type: "inet"))
        XCTAssertFalse(ServiceDisableFilter("").isDisabled(name: "smtp", type: "inet"))
        XCTAssertFalse(ServiceDisableFilter("25/inet").isDisabled(name: "smtp", type: "inet"))
    }

    func testDisabledEntriesAreSkippedBeforeValidation() throws {
        let config = try parseMaster("""
        smtp inet y bogus fields here
        pickup unix n - n 60 1 pickup
        broken fifo
        """, options: testOptions(disable: "inet, broken/fifo"))
        XCTAssertEqual(config.entries.map(\.name), ["pickup"])
    }

    func testNoProtocolsDisablesInet() throws {
        let main = try parseMain("inet_protocols =\n")
        let options = try MasterParseOptions(main: main)
        XCTAssertEqual(options.warnings, ["all network protocols are disabled (inet_protocols = )",
                                          "disabling all type \"inet\" services in master.cf"])
        let config = try parseMaster("smtp inet n - n - - smtpd\na unix - - n - - a\n", options: options)
        XCTAssertEqual(config.entries.map(\.name), ["a"])
    }

    func testOptionsFromMainConfig() throws {
        let main = try parseMain("default_process_limit = 7\ncompatibility_level = 2\nmaster_service_disable = pickup.unix\n")
        let options = try MasterParseOptions(main: main)
        XCTAssertEqual(options.defaultProcessLimit, 7)
        XCTAssertEqual(options.compatibilityLevel, "2")
        XCTAssertEqual(options.inetInterfaces, "all")
        XCTAssertEqual(options.inetProtocols, "all")
        XCTAssertTrue(options.disabled.isDisabled(name: "pickup", type: "unix"))
        assertConfigError("malformed compatibility level syntax: \"x\"") {
            try MasterParseOptions(main: try parseMain("compatibility_level = x\n"))
        }
        assertConfigError("unknown inet_protocols value \"ipv5\" in \"ipv5\"") {
            try parseMaster("a unix - - n - - a\n", options: testOptions(protocols: "ipv5"))
        }
    }

    func testLoadFromDirectory() throws {
        let scratch = try ScratchConfig(main: "", master: "a unix - - n - - a\n")
        let config = try MasterConfig.load(configDirectory: scratch.directory, options: testOptions())
        XCTAssertEqual(config.path, scratch.directory + "/master.cf")
        XCTAssertEqual(config.entries.count, 1)
        assertConfigError("open /nonexistent-dir/master.cf: No such file or directory") {
            try MasterConfig.load(configDirectory: "/nonexistent-dir", options: testOptions())
        }
    }
}
