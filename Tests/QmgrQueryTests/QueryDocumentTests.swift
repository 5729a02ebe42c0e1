// QueryDocumentTests: the query interface's JSON (QueryDocument, JSONValue)
// from a real scheduler with a busy transport and a throttled destination:
// Foundation's parser accepts it, it carries the schema's fields with the
// reason and the retry time shifted to Unix time, and our own parser (the
// one postfix(1) uses) reads back what was written, strings of any content
// included; malformed input is an error with its offset.
import Foundation
import XCTest
import MailQueue
import QmgrCore
import QmgrDelivery
import QmgrQuery

final class QueryDocumentTests: XCTestCase {
    /// Scheduler time 1 is Unix time 1_700_000_000.5 in these tests.
    let unixAtOne = 1_700_000_000.5

    func document() throws -> (text: String, json: [String: Any]) {
        let s = try SchedulerState.busyAndThrottled()
        let text = QueryDocument.json(s.snapshot(now: 1), schedulerNow: 1, unixNow: unixAtOne)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
        return (text, json)
    }

    func testDocumentParsesAndCarriesOccupancyBusyTransportAndThrottledSite() throws {
        let (text, json) = try document()
        XCTAssertEqual(json["version"] as? Int, 1)
        XCTAssertEqual(json["generated"] as? Double, unixAtOne)
        let active = try XCTUnwrap(json["active"] as? [String: Any])
        XCTAssertEqual(active["messages"] as? Int, 1)
        XCTAssertEqual(active["message_limit"] as? Int, 20000)
        XCTAssertEqual(active["recipients"] as? Int, 3, "one busy, two waiting")
        let transports = try XCTUnwrap(json["transports"] as? [[String: Any]])
        let smtp = try XCTUnwrap(transports.first { $0["name"] as? String == "smtp" }, text)
        XCTAssertEqual(smtp["busy"] as? Int, 1)
        XCTAssertEqual(smtp["concurrency_limit"] as? Int, 20)
        XCTAssertTrue(smtp["dead_reason"] is NSNull, "the transport itself is not throttled")
        XCTAssertTrue(smtp["retry_at"] is NSNull)
        XCTAssertEqual(smtp["rate_locked"] as? Bool, false)

        let destinations = try XCTUnwrap(smtp["destinations"] as? [[String: Any]])
        let down = try XCTUnwrap(destinations.first { $0["name"] as? String == "down.example" }, text)
        XCTAssertEqual(down["state"] as? String, "throttled")
        XCTAssertEqual(down["dead_reason"] as? String, "4.4.1 delivery temporarily suspended: no route")
        // Dead at scheduler time 1 for 300 s: retried at 301, i.e. 300 s after "generated".
        XCTAssertEqual(try XCTUnwrap(down["retry_at"] as? Double), unixAtOne + 300, accuracy: 0.0005)
        let up = try XCTUnwrap(destinations.first { $0["name"] as? String == "up.example" }, text)
        XCTAssertEqual(up["state"] as? String, "ready")
        XCTAssertEqual([up["window"], up["busy"], up["todo"], up["todo_recipients"]].map { $0 as? Int }, [1, 1, 2, 2])
        XCTAssertTrue(up["rate_delay_until"] is NSNull)
        XCTAssertTrue(up["rate_limit_tokens"] is NSNull, "no rate limit configured")

        let jobs = try XCTUnwrap(smtp["jobs"] as? [[String: Any]])
        XCTAssertEqual(jobs.map { $0["queue_id"] as? String }, ["A"])
        XCTAssertEqual(jobs.first?["read_entries"] as? Int, 4)
        XCTAssertEqual(jobs.first?["selected_entries"] as? Int, 2)
        XCTAssertTrue(jobs.first?["preempts"] is NSNull)

        // The one reply so far (down.example, status non-zero) is counted;
        // the busy delivery is not, until its reply comes.
        let deliveries = try XCTUnwrap(json["deliveries"] as? [[String: Any]], text)
        XCTAssertEqual(deliveries.count, 1, text)
        XCTAssertEqual(deliveries.first?["transport"] as? String, "smtp")
        XCTAssertEqual(deliveries.first?["result"] as? String, "deferred")
        XCTAssertEqual(deliveries.first?["requests"] as? Int, 1)
        XCTAssertEqual(deliveries.first?["recipients"] as? Int, 1)
    }

    /// Each way a delivery connection ends is counted under its result:
    /// a reply with status 0 (ok) or not (deferred), no reply (crashed), a
    /// request not written (unsent); with no entry handed over, nothing.
    func testDeliveryCountersByResult() throws {
        let s = try Scheduler(settings: QmgrSettings(lookup: { $0 == "smtp_destination_recipient_limit" ? "1" : nil }))
        let assignments = (0..<5).map { i in
            Assignment(transport: "smtp", nexthop: ByteString("site\(i).example"),
                       recipient: QueuedRecipient(offset: 100 + i, address: ByteString("user\(i)@site\(i).example")))
        }
        try s.add(queueID: "B", batch: RecipientBatch(assignments: assignments), now: 0)
        let lost = ExchangeError(peer: "private/smtp", step: .reply, problem: .disconnected)
        let outcomes: [DeliveryOutcome] = [
            .replied(DeliveryReply(hopStatus: DSN(status: "", reason: ""), status: 0)),
            .replied(DeliveryReply(hopStatus: DSN(status: "", reason: ""), status: 0)),
            .replied(DeliveryReply(hopStatus: DSN(status: "4.2.0", reason: "later"), status: 4)),
            .crashed(lost),
            .requestFailed(ExchangeError(peer: "private/smtp", step: .sending, problem: .disconnected)),
        ]
        for outcome in outcomes {
            let transport = try XCTUnwrap(s.nextConnection(now: 0))
            _ = s.connectionCompleted(transport: transport)
            let delivery = try XCTUnwrap(try s.selectDelivery(transport: transport, now: 0,
                                                              readMore: { _, _ in RecipientBatch(assignments: []) }))
            s.apply(DeliveryVerdict.judge(outcome, transport: transport, queueID: "B"), transport: transport,
                    deliveryID: delivery.id, now: 0)
        }
        s.apply(DeliveryVerdict.judge(.unavailable(lost), transport: "smtp", queueID: "B"), transport: "smtp",
                deliveryID: nil, now: 0)
        let counts = s.snapshot(now: 0).deliveries.map { "\($0.transport) \($0.result.rawValue) \($0.requests) \($0.recipients)" }
        XCTAssertEqual(counts, ["smtp ok 2 2", "smtp deferred 1 1", "smtp crashed 1 1", "smtp unsent 1 1"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(QueryDocument.json(s.snapshot(now: 0), schedulerNow: 0, unixNow: 0).utf8)) as? [String: Any])
        let deliveries = try XCTUnwrap(json["deliveries"] as? [[String: Any]])
        XCTAssertEqual(deliveries.map { $0["result"] as? String }, ["ok", "deferred", "crashed", "unsent"])
    }

    func testOwnParserReadsBackWhatFoundationReads() throws {
        let (text, json) = try document()
        let ours = try JSONValue.parse(text)
        XCTAssertEqual(ours.text, text, "parse then write is the identity on our output")
        let smtp = try XCTUnwrap(ours["transports"]?.array?.first { $0["name"]?.string == "smtp" })
        let foundationSMTP = try XCTUnwrap((json["transports"] as? [[String: Any]])?.first { $0["name"] as? String == "smtp" })
        XCTAssertEqual(smtp["destinations"]?.array?.count, (foundationSMTP["destinations"] as? [Any])?.count)
        let down = smtp["destinations"]?.array?.first { $0["name"]?.string == "down.example" }
        XCTAssertEqual(down?["dead_reason"]?.string,
                       "4.4.1 delivery temporarily suspended: no route")
    }

    func testStringsOfAnyContentStayValidJSON() throws {
        let nasty = "quote\" backslash\\ newline\n tab\t nul\u{0} bell\u{7} del\u{7f} é 😀 \u{2028}"
        let text = JSONValue.object([("reason", .string(nasty))]).text
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String], text)
        XCTAssertEqual(parsed["reason"], nasty)
        XCTAssertEqual(try JSONValue.parse(text)["reason"]?.string, nasty)
        XCTAssertEqual(try JSONValue.parse(#"["\ud83d\ude00\u00e9\/"]"#), .array([.string("😀é/")]))
    }

    func testNumbersAreIntegersOrMillisecondFractions() {
        XCTAssertEqual([0, 20000, -3, 1_700_000_300.5, 0.0004, 2.25, -0.5, 1.0 / 3].map(JSONValue.numberText),
                       ["0", "20000", "-3", "1700000300.5", "0", "2.25", "-0.5", "0.333"])
        XCTAssertEqual(JSONValue.numberText(.infinity), "null")
    }

    func testMalformedInputIsAnErrorWithItsOffset() {
        for (input, offset) in [("{\"a\":}", 5), ("[1,2", 4), ("\"open", 5), ("{} x", 3), ("[01]", 2), ("[1.]", 3), ("-", 1), ("1e", 2), ("\"\\q\"", 2),
                                ("\"\\u12G4\"", 3), (String(repeating: "[", count: 100), 64), ("", 0), ("+1", 0)] {
            XCTAssertThrowsError(try JSONValue.parse(input), input) { error in
                XCTAssertEqual((error as? JSONParseError)?.offset, offset, "\(input): \(error)")
            }
        }
    }
}
