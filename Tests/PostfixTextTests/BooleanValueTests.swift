// BooleanValueTests - a main.cf boolean: "yes" and "no" in any ASCII case,
// nothing else (no white space, no Unicode case mapping, no other words
// that C might call true).
import XCTest
import PostfixText

final class BooleanValueTests: XCTestCase {
    func testYesAndNoInAnyASCIICase() {
        for text in ["yes", "YES", "yEs", "Yes"] { XCTAssertEqual(BooleanValue.parse(text), true, text) }
        for text in ["no", "NO", "nO"] { XCTAssertEqual(BooleanValue.parse(text), false, text) }
    }

    func testEverythingElseIsNotABoolean() {
        for text in ["", "y", "n", "true", "1", "0", " yes", "yes ", "no\n", "yess", "ｙes", "\u{130}", "ye\u{17F}", "YE\u{17F}"] {
            XCTAssertNil(BooleanValue.parse(text), text)
        }
    }
}
