// SMTPUTF8FlagsTests - the recipient and sender bits a delivery request adds.
import XCTest
@testable import MailQueue

final class SMTPUTF8FlagsTests: XCTestCase {
    let utf8: ByteString = ByteString("j\u{00F6}rg@example.com")
    let ascii: ByteString = "joerg@example.com"

    func testASCIIRecipientsKeepTheQueueFileFlags() {
        XCTAssertEqual(SMTPUTF8Flags.forDelivery(queueFileFlags: 1, recipients: [ascii], verp: true, enabled: true), 1)
    }

    func testUTF8RecipientAddsTheRecipientBit() {
        XCTAssertEqual(SMTPUTF8Flags.forDelivery(queueFileFlags: 1, recipients: [ascii, utf8], verp: false, enabled: true),
                       1 | SMTPUTF8Flags.recipient)
    }

    func testVERPAddsTheSenderBitToo() {
        XCTAssertEqual(SMTPUTF8Flags.forDelivery(queueFileFlags: 0, recipients: [utf8], verp: true, enabled: true),
                       SMTPUTF8Flags.recipient | SMTPUTF8Flags.sender)
    }

    func testDisabledAddsNothing() {
        XCTAssertEqual(SMTPUTF8Flags.forDelivery(queueFileFlags: 2, recipients: [utf8], verp: true, enabled: false), 2)
    }

    func testInvalidUTF8NeverClaimsSMTPUTF8() {
        let latin1 = ByteString([0x6A, 0xF6, 0x72, 0x67, 0x40, 0x78])   // "j\xF6rg@x"
        XCTAssertFalse(SMTPUTF8Flags.needsSMTPUTF8(latin1))
        XCTAssertEqual(SMTPUTF8Flags.forDelivery(queueFileFlags: 0, recipients: [latin1], verp: false, enabled: true), 0)
    }
}
