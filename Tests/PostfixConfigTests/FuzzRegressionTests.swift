// FuzzRegressionTests.swift - inputs the fuzz targets (fuzz/) found to crash
// or hang, each kept as a test of the fixed behaviour; the inputs are also
// in the targets' seed corpora.
import XCTest
@testable import PostfixConfig

final class FuzzRegressionTests: XCTestCase {
    /// fuzz/corpus/expansion/relational-self-reference: a value that compares
    /// itself recursed without bound (stack overflow; stock postconf -x
    /// crashes the same way). It now stops at the nesting limit.
    func testRelationalOperandReferringToItsOwnParameterHitsTheNestingLimit() throws {
        let config = try parseMain("b = ${{$b} == {x}}\nc = ${{x} != {$d}?{yes}}\nd = $c\n")
        XCTAssertThrowsError(try config.value("b")) { error in
            XCTAssertEqual((error as? ConfigError)?.message, "dictionary mail_dict: macro processing error")
            XCTAssertTrue((error as? ConfigError)?.warnings.first?.hasPrefix("unreasonable macro call nesting: ") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try config.value("c"))
        XCTAssertThrowsError(try config.value("d"))
    }

    func testRelationalNestingWithinTheLimitStillWorks() throws {
        let config = try parseMain("a = 5\nb = ${{$a} == {5}?{five}:{other}}\nc = ${{$b} == {five}?{yes}:{no}}\n")
        XCTAssertEqual(try config.value("c"), "yes")
    }
}
