// DeliveryProtocolTests - the delivery request/reply and status-service
// codecs without an instance: the reference's captured bytes, MSG_STATS
// layout, round trips, and the decoders' refusals.
import XCTest
@testable import MailQueue

final class DeliveryProtocolTests: XCTestCase {
    func sampleRequest() -> DeliveryRequest {
        var r = DeliveryRequest(queueID: "E6612F785C9", dataOffset: 553, contentLength: 279, nexthop: "remote.example",
                                sender: "sender@test.example",
                                stats: MessageStats(incomingArrival: .init(seconds: 1_795_311_410, microseconds: 934_214),
                                                    activeArrival: .init(seconds: 1_795_311_417, microseconds: 1)),
                                recipients: [
                                    QueuedRecipient(offset: 324, address: "user1@remote.example",
                                                    originalRecipient: "user1@remote.example",
                                                    dsnOriginalRecipient: "rfc822;user1@remote.example", dsnNotify: 10),
                                    QueuedRecipient(offset: 428, address: "user2@remote.example"),
                                ])
        r.envelopeID = "envid123"
        r.dsnRet = 2
        return r
    }

    func testRequestBytesAsStockQmgrSendsThem() throws {
        let wire = sampleRequest().encoded
        // The reference's capture from stock qmgr (first attributes, first recipient list).
        let head = "flags\u{0}3\u{0}queue_name\u{0}active\u{0}queue_id\u{0}E6612F785C9\u{0}offset\u{0}553\u{0}size\u{0}279\u{0}"
            + "nexthop\u{0}remote.example\u{0}encoding\u{0}\u{0}smtputf8\u{0}0\u{0}"
        XCTAssertTrue(wire.starts(with: Array(head.utf8)))
        let rcpt = "original_recipient\u{0}user1@remote.example\u{0}recipient\u{0}user1@remote.example\u{0}offset\u{0}324\u{0}"
            + "dsn_orig_rcpt\u{0}rfc822;user1@remote.example\u{0}notify_flags\u{0}10\u{0}\u{0}"
        XCTAssertNotNil(wire.firstRange(of: Array(rcpt.utf8)))
        XCTAssertTrue(wire.reversed().starts(with: Array("notify_flags\u{0}0\u{0}\u{0}".utf8).reversed()))
        let time = try XCTUnwrap(sampleRequest().mainList["time"])
        XCTAssertEqual(time.count, 120)
        XCTAssertTrue(time.description.hasSuffix("=="))
        XCTAssertNotNil(wire.firstRange(of: Array("recipient_count\u{0}2\u{0}\u{0}".utf8)))
    }

    func testMessageStatsLayout() throws {
        var stats = MessageStats(incomingArrival: .init(seconds: 0x0102030405, microseconds: 7))
        stats.reuseCount = -2
        let bytes = stats.bytes
        XCTAssertEqual(bytes.count, 88)
        XCTAssertEqual(Array(bytes[0..<8]), [5, 4, 3, 2, 1, 0, 0, 0])
        XCTAssertEqual(Array(bytes[8..<16]), [7, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(bytes[80..<88]), [0xFE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        XCTAssertEqual(MessageStats(bytes: bytes), stats)
        XCTAssertNil(MessageStats(bytes: Array(bytes.dropLast())))
    }

    func testRequestRoundTripAndRefusals() throws {
        let request = sampleRequest()
        let lists = try AttrDecoder.decodeAll(request.encoded).lists
        XCTAssertEqual(lists.count, 3)
        XCTAssertEqual(try DeliveryRequest.decode(lists, peer: "private/smtp"), request)
        // Too few recipient lists, no recipients, a short time blob, an extra attribute.
        XCTAssertThrowsError(try DeliveryRequest.decode(Array(lists.dropLast()), peer: "p")) {
            XCTAssertEqual("\($0)", "p: recipient_count 2 but 1 recipient lists")
        }
        var none = request
        none.recipients = []
        XCTAssertThrowsError(try DeliveryRequest.decode([none.mainList], peer: "p")) {
            XCTAssertEqual("\($0)", "p: no recipients in delivery request for destination remote.example")
        }
        var main = lists[0]
        main.attributes[11].value = ByteString(Base64.encode([1, 2, 3]))
        XCTAssertThrowsError(try DeliveryRequest.decodeMain(main, peer: "p")) {
            XCTAssertEqual("\($0)", "p: size mis-match: time attribute has 3 bytes, not 88")
        }
        var extra = lists[1]
        extra.attributes.append(.init("surprise", "x"))
        XCTAssertThrowsError(try DeliveryRequest.decode([lists[0], extra, lists[2]], peer: "p")) {
            XCTAssertEqual("\($0)", "unexpected attribute surprise from p (expecting: (list terminator))")
        }
    }

    func testReplyHasTwoStatusAttributes() throws {
        let reply = DeliveryReply(hopStatus: DSN(status: "4.4.1", action: "delayed", reason: "connect refused"), status: -1)
        XCTAssertEqual(reply.list.encoded, Array(("status\u{0}4.4.1\u{0}diag_type\u{0}\u{0}diag_text\u{0}\u{0}mta_type\u{0}\u{0}"
            + "mta_mname\u{0}\u{0}action\u{0}delayed\u{0}reason\u{0}connect refused\u{0}status\u{0}4294967295\u{0}\u{0}").utf8))
        XCTAssertEqual(try DeliveryReply.decode(reply.list, peer: "p"), reply)
        XCTAssertThrowsError(try DeliveryReply.decode(AttrList([.int("status", 0)]), peer: "private/smtp")) {
            XCTAssertEqual("\($0)", "missing attribute diag_type in input from private/smtp")
        }
    }

    func testStatusRequests() throws {
        let flush = StatusNoticeRequest(command: .verp, flags: StatusNoticeFlags.deleteRecipients, queueID: "ABC",
                                        sender: "s@x", verpDelimiters: "+=")
        XCTAssertEqual(flush.list.attributes.map(\.name), ["nrequest", "flags", "queue_name", "queue_id", "encoding",
                                                           "smtputf8", "sender", "envelope_id", "ret_flags", "verp_delimiters"])
        XCTAssertEqual(try StatusNoticeRequest.decode(flush.list, peer: "p"), flush)
        let warn = StatusNoticeRequest(command: .warn, flags: 0, queueID: "ABC", sender: "s@x")
        XCTAssertEqual(warn.list.attributes.count, 9)
        XCTAssertEqual(try StatusNoticeRequest.decode(warn.list, peer: "p"), warn)
        let append = StatusAppendRequest(flags: 1024, queueID: "ABC",
                                         recipient: QueuedRecipient(offset: 324, address: "r@x", dsnNotify: 2),
                                         dsn: DSN(status: "4.0.0", action: "delayed", reason: "later"))
        XCTAssertEqual(append.list.attributes.map(\.name), ["nrequest", "flags", "queue_id", "original_recipient",
                                                            "recipient", "offset", "dsn_orig_rcpt", "notify_flags",
                                                            "status", "diag_type", "diag_text", "mta_type", "mta_mname",
                                                            "action", "reason"])
        XCTAssertEqual(try StatusAppendRequest.decode(append.list, peer: "p"), append)
        XCTAssertThrowsError(try StatusNoticeRequest.decode(append.list, peer: "p")) {
            XCTAssertEqual("\($0)", "p: unexpected nrequest 0 for a message notice")
        }
    }
}
