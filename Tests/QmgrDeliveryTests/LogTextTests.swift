// LogTextTests - the pure parts: delay formatting (format_tv's rules),
// address forms, DSN code checks, backoff, stock's reaction to each reply
// shape, and the recipient log line against a fixed MSG_STATS.
import XCTest
import MailQueue
@testable import QmgrDelivery

final class LogTextTests: XCTestCase {
    func testDelayTextKeepsTwoSignificantDigitsWithinTheResolution() {
        let cases: [(Int, Int, Int, String)] = [
            (0, 0, 2, "0"), (0, 4_000, 2, "0"), (0, 5_000, 2, "0.01"), (0, 14_999, 2, "0.01"), (0, 15_000, 2, "0.02"),
            (0, 123_456, 2, "0.12"), (0, 995_000, 2, "1"), (1, 250_000, 2, "1.3"), (9, 960_000, 2, "10"),
            (12, 600_000, 2, "13"), (1234, 500_000, 2, "1235"), (0, 1_234, 6, "0.0012"), (0, 500_000, 0, "1"),
            (3, 0, 2, "3"), (0, 100_000, 2, "0.1"),
        ]
        for (s, us, res, want) in cases {
            XCTAssertEqual(DelayText.format(seconds: s, microseconds: us, resolution: res), want, "\(s)s \(us)us res \(res)")
        }
    }

    func testExternalAddressFormQuotesOnlyWhatIsNotADotString() {
        let external = LogAddressForm.external
        XCTAssertEqual(external.format("user@example.com"), "user@example.com")
        XCTAssertEqual(external.format("first.last@example.com"), "first.last@example.com")
        XCTAssertEqual(external.format("odd one@x"), "\"odd one\"@x")
        XCTAssertEqual(external.format("bad@@x.."), "\"bad@\"@x..")
        XCTAssertEqual(external.format("a..b@x"), "\"a..b\"@x")
        XCTAssertEqual(external.format("q\"uote@x"), "\"q\\\"uote\"@x")
        XCTAssertEqual(external.format("@route:odd one@x"), "@route:\"odd one\"@x")
        XCTAssertEqual(external.format(ByteString([0xC3, 0xA9, 0x40, 0x78])), ByteString([0xC3, 0xA9, 0x40, 0x78]), "8-bit left alone")
        XCTAssertEqual(external.format(""), "")
        XCTAssertEqual(LogAddressForm.internal.format("odd one@x"), "odd one@x")
        XCTAssertNil(LogAddressForm(setting: "quoted"))
    }

    func testDSNCodes() {
        for valid in ["4.0.0", "5.1.1", "2.0.0", "4.123.456", "4.4.1 extra"] { XCTAssertTrue(DSNCode.isValid(ByteString(valid)), valid) }
        for invalid in ["", "4", "4.", "3.0.0", "4.0", "4.1234.0", "4.0.0x", "x.0.0", "4..0"] {
            XCTAssertFalse(DSNCode.isValid(ByteString(invalid)), invalid)
        }
    }

    func testBackoffIsTheAgeClamped() {
        let b = RetryBackoff(minimal: 300, maximal: 4000)
        XCTAssertEqual(b.delay(createTime: 1000, now: 1010), 300)
        XCTAssertEqual(b.delay(createTime: 1000, now: 2000), 1000)
        XCTAssertEqual(b.delay(createTime: 1000, now: 100_000), 4000)
        XCTAssertEqual(b.delay(createTime: 0, now: 100_000), 300, "unknown age: the minimum")
        XCTAssertEqual(b.wakeup(createTime: 1000, now: 2000), 3000)
        XCTAssertEqual(RetryBackoff(minimal: 500, maximal: 100).delay(createTime: 1, now: 10_000), 500, "the minimum wins")
    }

    func testReplyMatrix() {
        func judge(_ status: Int, _ hop: DSN) -> DeliveryVerdict {
            DeliveryVerdict.judge(.replied(DeliveryReply(hopStatus: hop, status: status)), transport: "smtp", queueID: "Q")
        }
        XCTAssertEqual(judge(0, DSN()).queue, .positiveFeedback)
        XCTAssertFalse(judge(0, DSN()).messageDeferred)
        let deferredOnly = judge(-1, DSN())
        XCTAssertEqual(deferredOnly.queue, .positiveFeedback)
        XCTAssertTrue(deferredOnly.messageDeferred)
        XCTAssertEqual(judge(-1, DSN(status: "bogus")).queue,
                       .negativeFeedback(DSN(status: "4.0.0", reason: "delivery temporarily suspended: unknown error")))
        XCTAssertEqual(judge(0, DSN(status: "4.4.1", reason: "x")).queue, .unchanged, "a reason without retry: no feedback")
        XCTAssertEqual(judge(0, DSN(status: "4.4.1")).queue, .positiveFeedback, "no retry and no reason: positive")
        XCTAssertEqual(judge(-1, DSN(reason: "text only")).queue, .unchanged)
        for v in [judge(0, DSN()), judge(-1, DSN(status: "4.4.1"))] { XCTAssertEqual(v.transport, .unthrottle) }
    }

    func testRecipientLineTimesAndOrigTo() {
        var stats = MessageStats(incomingArrival: .init(seconds: 1000, microseconds: 0),
                                 activeArrival: .init(seconds: 1001, microseconds: 500_000))
        let r = QueuedRecipient(offset: 10, address: "User@Example.com", originalRecipient: "user@example.com")
        let dsn = DSN(status: "4.3.0", reason: "mail transport unavailable")
        let log = QmgrLogLines()
        XCTAssertEqual(log.recipient("Q1", stats: stats, recipient: r, relay: "none", dsn: dsn, status: "deferred",
                                     now: .init(seconds: 1013, microseconds: 0)),
                       "Q1: to=<User@Example.com>, relay=none, delay=13, delays=1.5/12/0/0, dsn=4.3.0, status=deferred (mail transport unavailable)")
        let other = QueuedRecipient(offset: 10, address: "a@x", originalRecipient: "odd one@x")
        stats.reuseCount = 2
        XCTAssertEqual(log.recipient("Q1", stats: stats, recipient: other, relay: "none", dsn: dsn, status: "deferred",
                                     now: .init(seconds: 1001, microseconds: 0)),
                       "Q1: to=<a@x>, orig_to=<\"odd one\"@x>, relay=none, conn_use=3, delay=1, delays=1.5/0/0/0, dsn=4.3.0, status=deferred (mail transport unavailable)")
        XCTAssertEqual(log.expired("Q1", sender: "", forced: true), "Q1: from=<>, status=force-expired, returned to sender")
        XCTAssertEqual(QmgrLogLines.statusRequestFailed("Q1", .warn), "Q1: status=deferred (delay warning failed)")
    }
}
