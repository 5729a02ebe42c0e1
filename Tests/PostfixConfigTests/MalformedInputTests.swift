// Malformed main.cf and master.cf input: each case asserts the exact stock
// error text (reference section 1.11 / 2.1 / 2.2).

import XCTest
@testable import PostfixConfig

final class MalformedInputTests: XCTestCase {
    // MARK: main.cf

    func testMainMissingAttributeName() {
        assertConfigError("/cfg/main.cf, line 2: missing attribute name: \"= value\"") {
            try parseMain("a = 1\n= value\n")
        }
    }

    func testMainMissingEquals() {
        assertConfigError("/cfg/main.cf, line 1: missing '=' after attribute name: \"name value\"") {
            try parseMain("name value\n")
        }
    }

    func testMainMissingEqualsBareName() {
        assertConfigError("/cfg/main.cf, line 3: missing '=' after attribute name: \"lonely\"") {
            try parseMain("# c\na = b\nlonely\n")
        }
    }

    func testMainErrorReportsFirstLineOfContinuedEntry() {
        assertConfigError("/cfg/main.cf, line 2: missing '=' after attribute name: \"x  y\"") {
            try parseMain("a = b\nx\n  y\n")
        }
    }

    func testMainEqualsAfterNameWithBraces() {
        assertConfigError("/cfg/main.cf, line 1: missing '=' after attribute name: \"a b = c\"") {
            try parseMain("a b = c\n")
        }
    }

    func testMacroEmptyName() throws {
        let config = try parseMain("t = a$\n")
        assertMacroError("empty macro name: \"a$\"") { try config.value("t") }
    }

    func testMacroEmptyBraces() throws {
        let config = try parseMain("t = ${}\n")
        assertMacroError("empty macro name: \"${}\"") { try config.value("t") }
    }

    func testMacroTruncated() throws {
        let config = try parseMain("t = ${x\n")
        assertMacroError("truncated macro reference: \"${x\"") { try config.value("t") }
    }

    func testMacroTruncatedParen() throws {
        let config = try parseMain("t = $(x\n")
        assertMacroError("truncated macro reference: \"$(x\"") { try config.value("t") }
    }

    func testMacroNameSyntax() throws {
        let config = try parseMain("t = ${a b}\n")
        assertMacroError("attribute name syntax error at: \"...a>>> b\"") { try config.value("t") }
    }

    func testMacroColonExpected() throws {
        let config = try parseMain("x = 1\nt = ${x?{a}b}\n")
        assertMacroError("\":\" expected at: \"...a}>>>b\"") { try config.value("t") }
    }

    func testMacroUnexpectedInput() throws {
        let config = try parseMain("t = ${e:{a}b}\n")
        assertMacroError("unexpected input at: \"...a}>>>b\"") { try config.value("t") }
    }

    func testMacroBadOperator() throws {
        let config = try parseMain("t = ${{a} ~ {b}}\n")
        assertMacroError("\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\" expected at: \"...a}>>>~ {b}\"") {
            try config.value("t")
        }
    }

    func testMacroMissingRightOperand() throws {
        let config = try parseMain("t = ${{a} == b}\n")
        assertMacroError("\"{expression}\" expected at: \"...{a} ==>>> b\"") { try config.value("t") }
    }

    func testMacroGarbageAfterRelational() throws {
        let config = try parseMain("t = ${{a}=={b}x}\n")
        assertMacroError("\"?\" or \":\" expected at: \"...}>>>x\"") { try config.value("t") }
    }

    func testMacroBadOperatorSuffix() throws {
        let config = try parseMain("t = ${{a} ==x {b}}\n")
        assertMacroError("bad operator suffix at: \"...==>>>x\"") { try config.value("t") }
    }

    func testMacroUnbalancedCurly() throws {
        let config = try parseMain("x = 1\nt = ${x?{a{b}}\n")
        assertMacroError("truncated macro reference: \"${x?{a{b}}\"") { try config.value("t") }
    }

    func testMacroNestingLimit() throws {
        let config = try parseMain("p = $p\n")
        assertMacroError("unreasonable macro call nesting: \"p\"") { try config.value("p") }
    }

    func testMacroErrorInsideReferencedValue() throws {
        let config = try parseMain("a = ${b\nt = [$a]\n")
        assertMacroError("truncated macro reference: \"${b\"") { try config.value("t") }
    }

    // MARK: master.cf

    private func assertMaster(_ text: String, _ message: String, options: MasterParseOptions = testOptions(),
                              file: StaticString = #filePath, line: UInt = #line) {
        assertConfigError("/cfg/master.cf: " + message, file: file, line: line) {
            try parseMaster(text, options: options)
        }
    }

    func testMasterMissingTransport() {
        assertMaster("smtp\n", "line 1: missing \"transport type\" field")
    }

    func testMasterMissingPrivate() {
        assertMaster("a unix\n", "line 1: missing \"private\" field")
    }

    func testMasterMissingUnprivileged() {
        assertMaster("a unix -\n", "line 1: missing \"unprivileged\" field")
    }

    func testMasterMissingChroot() {
        assertMaster("a unix - -\n", "line 1: missing \"chroot\" field")
    }

    func testMasterMissingWakeup() {
        assertMaster("a unix - - n\n", "line 1: missing \"wakeup_time\" field")
    }

    func testMasterMissingMaxProc() {
        assertMaster("a unix - - n -\n", "line 1: missing \"max_proc\" field")
    }

    func testMasterMissingCommand() {
        assertMaster("# c\n\na unix - - n - -\n", "line 3: missing \"command\" field")
    }

    func testMasterDashTransport() {
        assertMaster("a - - - n - - cmd\n", "line 1: field \"transport type\" has no default value")
    }

    func testMasterDashCommand() {
        assertMaster("a unix - - n - - -\n", "line 1: field \"command\" has no default value")
    }

    func testMasterBadTransport() {
        assertMaster("a bogus - - n - - cmd\n", "line 1: bad transport type: bogus")
    }

    func testMasterTransportIsCaseSensitive() {
        assertMaster("a UNIX - - n - - cmd\n", "line 1: bad transport type: UNIX")
    }

    func testMasterBadPrivate() {
        assertMaster("a unix x - n - - cmd\n", "line 1: field \"private\": bad value: \"x\"")
    }

    func testMasterBadPrivateUppercase() {
        assertMaster("a unix Y - n - - cmd\n", "line 1: field \"private\": bad value: \"Y\"")
    }

    func testMasterBadUnprivileged() {
        assertMaster("a unix - yes n - - cmd\n", "line 1: field \"unprivileged\": bad value: \"yes\"")
    }

    func testMasterBadChroot() {
        assertMaster("a unix - - 1 - - cmd\n", "line 1: field \"chroot\": bad value: \"1\"")
    }

    func testMasterNegativeWakeup() {
        assertMaster("a unix - - n -5 - cmd\n", "line 1: field \"wakeup_time\": bad value: \"-5\"")
    }

    func testMasterDashQuestionWakeup() {
        assertMaster("a unix - - n -? - cmd\n", "line 1: field \"wakeup_time\": bad value: \"-?\"")
    }

    func testMasterBadMaxProc() {
        assertMaster("a unix - - n - x5 cmd\n", "line 1: field \"max_proc\": bad value: \"x5\"")
    }

    func testMasterInetPrivate() {
        assertMaster("smtp inet y - n - - smtpd\n", "line 1: inet service cannot be private")
    }

    func testMasterInetPrivateByDefault() {
        assertMaster("smtp inet - - n - - smtpd\n", "line 1: inet service cannot be private")
    }

    func testMasterMissingBracket() {
        assertMaster("[127.0.0.1:25 inet n - n - - smtpd\n", "line 1: missing \"]\" in \"[127.0.0.1:25\"")
    }

    func testMasterGarbageAfterBracket() {
        assertMaster("[h]x:25 inet n - n - - smtpd\n", "line 1: garbage after \"]\" in \"[h]x:25\"")
    }

    func testMasterMalformedIPv6() {
        assertMaster("[IPv6:1.2.3.4]:25 inet n - n - - smtpd\n", "line 1: malformed IPv6 address in \"[IPv6:1.2.3.4]:25\"")
    }

    func testMasterMissingServiceAfterColon() {
        assertMaster("host: inet n - n - - smtpd\n", "line 1: missing service information in \"host:\"")
    }

    func testMasterMissingServiceBracketOnly() {
        assertMaster("[127.0.0.1] inet n - n - - smtpd\n", "line 1: missing service information in \"[127.0.0.1]\"")
    }

    func testMasterMissingServiceBracketColon() {
        assertMaster("[127.0.0.1]: inet n - n - - smtpd\n", "line 1: missing service information in \"[127.0.0.1]:\"")
    }

    func testMasterInvalidHost() {
        assertMaster("bad_host!:25 inet n - n - - smtpd\n",
                     "line 1: valid hostname or network address required in \"bad_host!:25\"")
    }

    func testMasterEmptyBracketHost() {
        assertMaster("[]:25 inet n - n - - smtpd\n", "line 1: valid hostname or network address required in \"[]:25\"")
    }

    func testMasterGarbageAfterNumericService() {
        assertMaster("12x inet n - n - - smtpd\n", "line 1: garbage after numerical service in \"12x\"")
    }

    func testMasterGarbageAfterNumericServiceWithHost() {
        assertMaster("127.0.0.1:25a inet n - n - - smtpd\n",
                     "line 1: garbage after numerical service in \"127.0.0.1:25a\"")
    }

    func testMasterUnresolvableHost() {
        assertMaster("no-such-host.invalid:25 inet n - n - - smtpd\n",
                     "line 1: bad hostname or network address: no-such-host.invalid:25")
    }

    func testMasterHostOfDisabledFamily() {
        assertMaster("[::1]:25 inet n - n - - smtpd\n", "line 1: bad hostname or network address: [::1]:25",
                     options: testOptions(protocols: "ipv4"))
    }

    func testMasterBraceMissingClose() {
        assertMaster("a unix - - n - - cmd { a b\n", "line 1: missing '}' in \"{ a b\"")
    }

    func testMasterBraceTrailingText() {
        assertMaster("a unix - - n - - cmd {a}b\n", "line 1: syntax error after '}' in \"{a}b\"")
    }

    func testMasterBraceErrorInContinuation() {
        assertMaster("x unix - - n - - a\n\na unix - - n - - cmd\n  -o {a=b\n", "line 3: missing '}' in \"{a=b\"")
    }

    func testMasterFirstFieldErrorWins() {
        // The type is validated before the private field.
        assertMaster("a bogus x - n - - cmd\n", "line 1: bad transport type: bogus")
    }
}
