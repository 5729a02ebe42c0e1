// Macro expansion rules, independent of the stock program.

import XCTest
@testable import PostfixConfig

final class ExpansionTests: XCTestCase {
    private func value(_ expression: String, _ extra: String = "") throws -> String {
        try parseMain("x = 1\ne =\ny = two words\n\(extra)t = \(expression)\n").value("t")
    }

    func testPlainForms() throws {
        XCTAssertEqual(try value("$x"), "1")
        XCTAssertEqual(try value("${x}"), "1")
        XCTAssertEqual(try value("$(x)"), "1")
        XCTAssertEqual(try value("$x$y"), "1two words")
        XCTAssertEqual(try value("$x.y"), "1.y")
        XCTAssertEqual(try value("$$x"), "$x")
        XCTAssertEqual(try value("$undefined!"), "!")
    }

    func testConditionals() throws {
        XCTAssertEqual(try value("${x?yes}"), "yes")
        XCTAssertEqual(try value("${e?yes}"), "")
        XCTAssertEqual(try value("${x:no}"), "")
        XCTAssertEqual(try value("${e:no}"), "no")
        XCTAssertEqual(try value("${nope:no}"), "no")
        XCTAssertEqual(try value("${x?{a}:{b}}"), "a")
        XCTAssertEqual(try value("${e?{a}:{b}}"), "b")
        XCTAssertEqual(try value("${e?{a}:b c}"), "b c")
        XCTAssertEqual(try value("${x? v}"), " v")
        XCTAssertEqual(try value("${x??foo:{b}ar}"), "?foo:{b}ar")
        XCTAssertEqual(try value("${x?{$y}}"), "two words")
        XCTAssertEqual(try value("$(x?yes)"), "yes")
    }

    func testUnchosenBranchIsNotExpanded() throws {
        XCTAssertEqual(try value("${x?{ok}:{$p}}", "p = $p\n"), "ok")
        XCTAssertEqual(try value("${e?{$}:{fine}}"), "fine")
    }

    func testRelational() throws {
        XCTAssertEqual(try value("${{10} < {9}}"), "")
        XCTAssertEqual(try value("${{10} > {9}}"), "true")
        XCTAssertEqual(try value("${{abc} < {abd}?{lt}:{ge}}"), "lt")
        XCTAssertEqual(try value("${{$x} == {1}?{one}}"), "one")
        XCTAssertEqual(try value("${{007} == {7}}"), "true")
        XCTAssertEqual(try value("${{2} <level {3.6}?{old}:{new}}"), "old")
        XCTAssertEqual(try value("${{3.10} >level {3.9}?{newer}}"), "newer")
    }

    func testRecursionAndDefaults() throws {
        let config = try parseMain("a = $b\nb = ${c}/x\nc = $queue_directory\n")
        XCTAssertEqual(try config.value("a"), "/var/spool/postfix/x")
        XCTAssertEqual(try config.expand("[$c]"), "[/var/spool/postfix]")
    }

    func testDollarInSubstitutedValueIsLiteral() throws {
        // A substituted value is expanded from its raw text, so "$$" in it
        // becomes a literal "$" exactly once (no second-round expansion).
        let config = try parseMain("a = $$HOME\nb = $a\n")
        XCTAssertEqual(try config.value("a"), "$HOME")
        XCTAssertEqual(try config.value("b"), "$HOME")
    }

    func testSelfReferenceHitsNestingLimit() throws {
        let config = try parseMain("p = $p\nq = $r\nr = $q\n")
        assertMacroError("unreasonable macro call nesting: \"p\"") { try config.value("p") }
        assertMacroError("unreasonable macro call nesting: \"q\"") { try config.value("q") }
    }

    func testDeepButFiniteChainIsFine() throws {
        var text = ""
        for i in 0..<50 { text += "v\(i) = $v\(i + 1)\n" }
        text += "v50 = end\n"
        XCTAssertEqual(try parseMain(text).value("v0"), "end")
    }
}
