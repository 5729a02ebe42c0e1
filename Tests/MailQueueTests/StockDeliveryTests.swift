// StockDeliveryTests - the delivery and status codecs against stock
// daemons: a real stock qmgr's delivery request, captured on the agent's
// socket, decodes to what our envelope pass says and equals our encoding
// byte for byte; our requests make the stock discard and error/retry agents
// deliver, bounce and defer real queue files; our notice and append
// requests make the stock bounce daemon write logs and send notices.
import XCTest
import Foundation
import Glibc
import TestSupport
@testable import MailQueue

/// Bytes a peer thread collected.
final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var data: [UInt8] = []
    func append(_ b: ArraySlice<UInt8>) { lock.lock(); data += b; lock.unlock() }
    var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return data }
}

final class StockQmgrRequestTests: XCTestCase {
    /// A stock qmgr routes mail to transport "capture", whose socket is ours:
    /// we answer like an agent that defers, and keep the request's bytes.
    func testStockQmgrRequestIsWhatWeEncode() throws {
        let stock = try StockQueueInstance(parameters: ["default_transport": "capture"], keepQueueManager: true)
        defer { stock.destroy() }
        let captured = Captured()
        let peer = try ScriptedPeer(path: stock.queue + "/private/capture") { fd in
            ScriptedPeer.write(fd, AttrList([.string("protocol", ByteString(DeliveryRequest.protocolName))]).encoded)
            var decoder = AttrDecoder(peer: "qmgr")
            var lists = 0, expected = Int.max
            var buffer = [UInt8](repeating: 0, count: 4096)
            while lists < expected {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 30_000) == 1 else { return }
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { return }
                captured.append(buffer[0..<n])
                decoder.feed(buffer[0..<n])
                while let list = try? decoder.nextList() {
                    if lists == 0, let count = list["recipient_count"].flatMap({ Int($0.description) }) { expected = count + 1 }
                    lists += 1
                }
            }
            ScriptedPeer.write(fd, DeliveryReply(status: -1).list.encoded)
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 10_000)   // the agent waits until qmgr closes
        }
        defer { peer.stop() }
        try stock.submit(["-f", "sender@test.example", "-N", "success,delay", "-R", "hdrs", "-V", "envid123",
                          "user1@remote.example", "user2@remote.example"], message: "Subject: capture\n\nhello\n")
        peer.waitDone()
        let raw = captured.bytes
        let request = try DeliveryRequest.decode(try AttrDecoder.decodeAll(raw).lists, peer: "qmgr")
        let id = try XCTUnwrap(QueueID(request.queueID.description))
        // After the deferring reply qmgr moves the file, unchanged, to its hashed place in deferred/.
        let path = stock.queue + "/" + QueueHashing.stockDefault.path(of: id, in: .deferred)
        XCTAssertTrue(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: path) }, stock.instance.logTail(20))
        let bytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path)))
        let (envelope, batch) = try Envelope.read(bytes: bytes, name: path)
        let ours = DeliveryRequest(envelope: envelope, queueID: id, nexthop: "remote.example", recipients: batch.recipients,
                                   flags: DeliveryFlags.default, activeArrival: request.stats.activeArrival)
        XCTAssertEqual(request, ours)
        XCTAssertEqual(ours.encoded, raw, "our encoding differs from stock qmgr's bytes")
        XCTAssertEqual(request.recipients.map(\.dsnNotify), [10, 10])
        XCTAssertEqual(request.stats.incomingArrival.seconds, envelope.arrivalSeconds)
    }
}

final class StockAgentAndBounceTests: XCTestCase {
    static let shared = SharedStockInstance { try StockQueueInstance(parameters: [:]) }
    var stock: StockQueueInstance { get throws { try Self.shared.get() } }

    override class func tearDown() {
        shared.destroy()
        super.tearDown()
    }

    /// Submits a message and moves its file to active/, where agents and bounce expect it.
    func activeMessage(_ recipients: [String], sender: String = "sender@test.example")
        throws -> (id: QueueID, envelope: Envelope, recipients: [QueuedRecipient], path: String) {
        let stock = try self.stock
        let incoming = try stock.sendmail(["-f", sender] + recipients, message: "Subject: agents\n\nbody\n")
        let id = try XCTUnwrap(QueueID((incoming as NSString).lastPathComponent))
        let active = stock.queue + "/" + QueueHashing.stockDefault.path(of: id, in: .active)
        XCTAssertEqual(rename(stock.queue + "/" + incoming, active), 0)
        let (envelope, batch) = try Envelope.read(bytes: try stock.bytes(of: "active/" + id.text), name: active)
        return (id, envelope, batch.recipients, active)
    }

    func request(_ m: (id: QueueID, envelope: Envelope, recipients: [QueuedRecipient], path: String),
                 nexthop: ByteString) -> DeliveryRequest {
        var now = timeval()
        gettimeofday(&now, nil)
        return DeliveryRequest(envelope: m.envelope, queueID: m.id, nexthop: nexthop, recipients: m.recipients,
                               activeArrival: .init(seconds: now.tv_sec, microseconds: Int(now.tv_usec)))
    }

    func remaining(_ path: String) throws -> [ByteString] {
        try Envelope.read(bytes: [UInt8](XCTUnwrap(FileManager.default.contents(atPath: path)))).1.recipients.map(\.address)
    }

    func testDiscardAgentMarksEveryRecipientDone() throws {
        let stock = try self.stock
        let m = try activeMessage(["a@remote.example", "b@remote.example"])
        let mark = stock.instance.logMark()
        let reply = try DeliveryAgentClient.deliver(request(m, nexthop: "remote.example"), transport: "discard",
                                                    queueDirectory: stock.queue)
        XCTAssertEqual(reply, DeliveryReply(status: 0))
        XCTAssertEqual(try remaining(m.path), [])
        for r in ["a", "b"] {
            XCTAssertNotNil(stock.instance.waitForLog("\(m.id): to=<\(r)@remote.example>", "status=sent", since: mark))
        }
    }

    func testErrorAgentBouncesThenBounceFlushSendsTheNotice() throws {
        let stock = try self.stock
        let m = try activeMessage(["x@remote.example"])
        let reply = try DeliveryAgentClient.deliver(request(m, nexthop: "5.1.1 test bounce"), transport: "error",
                                                    queueDirectory: stock.queue)
        XCTAssertEqual(reply, DeliveryReply(status: 0))
        XCTAssertEqual(try remaining(m.path), [])
        let log = try String(contentsOfFile: stock.queue + "/" + QueueHashing.stockDefault.path(of: m.id, in: .bounce),
                             encoding: .utf8)
        XCTAssertTrue(log.contains("recipient=x@remote.example\n"), log)
        XCTAssertTrue(log.contains("offset=\(m.recipients[0].offset)\n"), log)
        XCTAssertTrue(log.contains("status=5.1.1\naction=failed\n"), log)
        XCTAssertTrue(log.contains("reason=test bounce\n"), log)

        let notice = try stock.newQueueFile("bounce flush") {
            let flush = StatusNoticeRequest(command: .flush, flags: 0, queueID: ByteString(m.id.text),
                                            sender: m.envelope.sender ?? .empty, envelopeID: m.envelope.envelopeID,
                                            dsnRet: m.envelope.dsnRet)
            XCTAssertEqual(try StatusServiceClient.request(flush.list, service: "bounce", queueDirectory: stock.queue), 0)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: stock.queue + "/bounce/" + m.id.text), "log removed after the notice")
        let (envelope, batch) = try Envelope.read(bytes: try stock.bytes(of: notice))
        XCTAssertEqual(envelope.sender, "", "notices come from the null sender")
        XCTAssertEqual(batch.recipients.map(\.address), ["sender@test.example"])
    }

    func testRetryAgentDefersIntoTheHashedDeferLogThenDelayWarning() throws {
        let stock = try self.stock
        let m = try activeMessage(["y@remote.example"])
        let reply = try DeliveryAgentClient.deliver(request(m, nexthop: "4.4.4 try later"), transport: "retry",
                                                    queueDirectory: stock.queue)
        XCTAssertNotEqual(reply.status, 0, "something is to be retried")
        XCTAssertEqual(try remaining(m.path), ["y@remote.example"])
        let deferLog = stock.queue + "/" + QueueHashing.stockDefault.path(of: m.id, in: .defer)
        let log = try String(contentsOfFile: deferLog, encoding: .utf8)
        XCTAssertTrue(log.contains("status=4.4.4\naction=delayed\n"), log)
        XCTAssertTrue(log.contains("reason=try later\n"), log)

        let notice = try stock.newQueueFile("delay warning") {
            let warn = StatusNoticeRequest(command: .warn, flags: 0, queueID: ByteString(m.id.text),
                                           sender: m.envelope.sender ?? .empty)
            XCTAssertEqual(try StatusServiceClient.request(warn.list, service: "defer", queueDirectory: stock.queue), 0)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: deferLog), "a warning keeps the log")
        let (envelope, batch) = try Envelope.read(bytes: try stock.bytes(of: notice))
        XCTAssertEqual(envelope.sender, "")
        XCTAssertEqual(batch.recipients.map(\.address), ["sender@test.example"])
    }

    func testDeferAppendWritesOurDSNIntoTheLog() throws {
        let stock = try self.stock
        let m = try activeMessage(["z@remote.example"])
        let append = StatusAppendRequest(flags: 0, queueID: ByteString(m.id.text), recipient: m.recipients[0],
                                         dsn: DSN(status: "4.7.1", diagnosticType: "smtp", diagnosticText: "451 4.7.1 greylisted",
                                                  mtaType: "dns", mtaName: "mx.remote.example", action: "delayed",
                                                  reason: "host mx.remote.example said: greylisted"))
        XCTAssertEqual(try StatusServiceClient.request(append.list, service: "defer", queueDirectory: stock.queue), 0)
        let log = try String(contentsOfFile: stock.queue + "/" + QueueHashing.stockDefault.path(of: m.id, in: .defer),
                             encoding: .utf8)
        // One block: a blank line, "<recipient>: reason" (the human-readable line), name=value lines, a blank line.
        XCTAssertEqual(log, "\n<z@remote.example>: host mx.remote.example said: greylisted\n"
            + "recipient=z@remote.example\noffset=\(m.recipients[0].offset)\ndsn_orig_rcpt=rfc822;z@remote.example\n"
            + "status=4.7.1\naction=delayed\ndiag_type=smtp\ndiag_text=451 4.7.1 greylisted\n"
            + "mta_type=dns\nmta_mname=mx.remote.example\nreason=host mx.remote.example said: greylisted\n\n")
    }

    func testWrongProtocolAndMissingServiceAreErrors() throws {
        let stock = try self.stock
        XCTAssertThrowsError(try StatusServiceClient.request(AttrList(), service: "rewrite", queueDirectory: stock.queue)) {
            XCTAssertEqual("\($0)", "unexpected protocol trivial_rewrite_protocol from private/rewrite (expected: delivery_status_protocol)")
        }
        let m = try activeMessage(["w@remote.example"])
        XCTAssertThrowsError(try DeliveryAgentClient.deliver(request(m, nexthop: "x"), transport: "nosuch",
                                                             queueDirectory: stock.queue)) {
            XCTAssertEqual("\($0)", "connect to private/nosuch: No such file or directory")
        }
    }
}
