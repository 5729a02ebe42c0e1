// Logical-line splitting: continuation, comments, numbering, warnings.

import XCTest
@testable import PostfixConfig

final class LogicalLinesTests: XCTestCase {
    private func split(_ text: String) -> ([LogicalLine], [String]) {
        var warnings: [String] = []
        let lines = LogicalLines.split(text, path: "/p/main.cf") { warnings.append($0) }
        return (lines, warnings)
    }

    func testSimpleLinesAndNumbers() {
        let (lines, warnings) = split("a = 1\n\nb = 2\n")
        XCTAssertEqual(lines, [LogicalLine(number: 1, text: "a = 1"), LogicalLine(number: 3, text: "b = 2")])
        XCTAssertEqual(warnings, [])
    }

    func testLastLineWithoutNewline() {
        let (lines, _) = split("a = 1\nb = 2")
        XCTAssertEqual(lines.last, LogicalLine(number: 2, text: "b = 2"))
    }

    func testContinuationKeepsLeadingWhitespace() {
        let (lines, _) = split("cont = one\n  two\n# c\n  three\nnext = x\n")
        XCTAssertEqual(lines, [LogicalLine(number: 1, text: "cont = one  two  three"),
                               LogicalLine(number: 5, text: "next = x")])
    }

    func testBlankAndCommentLinesInsideContinuation() {
        let (lines, _) = split("a = 1\n\n   \n\t# indented comment\n\tmore\n")
        XCTAssertEqual(lines, [LogicalLine(number: 1, text: "a = 1\tmore")])
    }

    func testHashInsideLineIsLiteral() {
        let (lines, _) = split("a = 1 # not a comment\n")
        XCTAssertEqual(lines.first?.text, "a = 1 # not a comment")
    }

    func testNumberIsFirstPhysicalLineAfterComments() {
        let (lines, _) = split("# c1\n# c2\nx = y\n  z\nw = v\n")
        XCTAssertEqual(lines.map(\.number), [3, 5])
    }

    func testOrphanContinuationIsWarnedAndDropped() {
        let (lines, warnings) = split("  orphan text\na = 1\n")
        XCTAssertEqual(lines, [LogicalLine(number: 2, text: "a = 1")])
        XCTAssertEqual(warnings, ["/p/main.cf: logical line must not start with whitespace: \"  orphan text\""])
    }

    func testLongOrphanIsTruncatedWithEllipsis() {
        let (_, warnings) = split("\t0123456789012345678901234567890123456789\n")
        XCTAssertEqual(warnings, ["/p/main.cf: logical line must not start with whitespace: \"\t01234567890123456789012345678...\""])
    }

    func testOrphanAfterCommentsOnly() {
        let (lines, warnings) = split("# header\n   x\n     y\nz = 1\n")
        XCTAssertEqual(lines.map(\.text), ["z = 1"])
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].hasSuffix("\"   x     y\""))
    }

    func testEmptyAndCommentOnlyInput() {
        XCTAssertEqual(split("").0, [])
        XCTAssertEqual(split("# only\n\n \n").0, [])
    }

    func testCarriageReturnIsKeptInText() {
        // CR is whitespace for the field splitter, not a line terminator.
        let (lines, _) = split("a = 1\r\n")
        XCTAssertEqual(lines.first?.text, "a = 1\r")
    }
}
