// LogicalLineReaderTests - the shared logical-line rules at the byte level:
// continuation, comments and blank lines inside a continued entry, numbering
// by the first physical line, orphans and their warning (a C string's view:
// cut at NUL and at 30 bytes), a last line without a newline. The main.cf
// and table readers built on it are compared with stock in their own tests.
import XCTest
import PostfixText

final class LogicalLineReaderTests: XCTestCase {
    func items(_ text: String) -> [LogicalLineReader.Item] { LogicalLineReader.items(Array(text.utf8)) }

    func testContinuationCommentsAndNumbering() {
        XCTAssertEqual(items("a = 1\n  more\n# note\n\n\t and more\nb = 2\n   \n#\nc = 3"), [
            .line(number: 1, text: Array("a = 1  more\t and more".utf8)),
            .line(number: 6, text: Array("b = 2".utf8)),
            .line(number: 9, text: Array("c = 3".utf8)),
        ])
        XCTAssertEqual(items(""), [])
        XCTAssertEqual(items("\n\n# only comments\n"), [])
    }

    func testOrphanTextIsHandedBackWithStocksWarning() {
        let all = items("  lead\n\tmore\nx = 1\n")
        XCTAssertEqual(all, [.orphan(Array("  lead\tmore".utf8)), .line(number: 3, text: Array("x = 1".utf8))])
        XCTAssertEqual(LogicalLineReader.orphanWarning(source: "/p/main.cf", text: Array("  lead\tmore".utf8)),
                       "/p/main.cf: logical line must not start with whitespace: \"  lead\tmore\"")
        let long = Array(" 123456789012345678901234567890xyz".utf8)
        XCTAssertEqual(LogicalLineReader.orphanWarning(source: "unknown_stream", text: long),
                       "unknown_stream: logical line must not start with whitespace: \" 12345678901234567890123456789...\"")
        // A NUL ends what a C string shows; the length still counts every byte.
        let withNUL: [UInt8] = [0x20, 0x61, 0x00] + Array(repeating: 0x62, count: 40)
        XCTAssertEqual(LogicalLineReader.orphanWarning(source: "t", text: withNUL),
                       "t: logical line must not start with whitespace: \" a...\"")
    }

    func testBytesAreKeptAsTheyAre() {
        let bytes: [UInt8] = [0x61, 0xFF, 0x00, 0x0D, 0x0A, 0x20, 0xC3]
        XCTAssertEqual(LogicalLineReader.items(bytes), [.line(number: 1, text: [0x61, 0xFF, 0x00, 0x0D, 0x20, 0xC3])])
    }
}
