// StockAgentTests - the delivery side against the real stock daemons of a
// private stock instance without a queue manager: real queue files, moved
// to active/ as qmgr would, delivered through DeliveryChannel to stock
// smtp (to smtp-sink on loopback), local, error, retry and discard; then
// MessageCompletion runs with the stock bounce, defer and trace services
// and decides, as stock does, for: all delivered, bounced (the DSN reaches
// the sender's mailbox through stock local), deferred, expired, delay
// warning due, traced (sendmail -v); and a dead transport's recipients are
// deferred through the stock defer service.
import XCTest
import Foundation
import Glibc
import TestSupport
import MailQueue
@testable import QmgrDelivery

final class StockAgentTests: XCTestCase {
    static let shared = SharedStockInstance { try StockQueueInstance(parameters: ["delay_warning_time": "4h"]) }
    var stock: StockQueueInstance { get throws { try Self.shared.get() } }

    override class func tearDown() {
        shared.destroy()
        super.tearDown()
    }

    struct Message {
        let id: QueueID
        let path: String
        let envelope: Envelope
        let recipients: [QueuedRecipient]
    }

    static let sender = "nobody@localhost"

    /// Moves a committed incoming file to active/, where agents and bounce expect it, and reads it.
    func activate(_ incoming: String) throws -> Message {
        let stock = try self.stock
        let id = try XCTUnwrap(QueueID((incoming as NSString).lastPathComponent))
        let active = stock.queue + "/" + QueueHashing.stockDefault.path(of: id, in: .active)
        XCTAssertEqual(rename(stock.queue + "/" + incoming, active), 0)
        let (envelope, batch) = try Envelope.read(bytes: [UInt8](XCTUnwrap(FileManager.default.contents(atPath: active))), name: active)
        return Message(id: id, path: active, envelope: envelope, recipients: batch.recipients)
    }

    func submit(_ recipients: [String], options: [String] = [], subject: String = "qdeliver") throws -> Message {
        try activate(try self.stock.sendmail(options + ["-f", Self.sender] + recipients,
                                             message: "Subject: \(subject)\n\nbody of \(subject)\n"))
    }

    /// One delivery through DeliveryChannel, driven with poll as the plugin's event loop would.
    func deliver(_ m: Message, transport: String, nexthop: ByteString) throws -> DeliveryOutcome {
        var now = timeval()
        gettimeofday(&now, nil)
        let request = DeliveryRequest(envelope: m.envelope, queueID: m.id, nexthop: nexthop, recipients: m.recipients,
                                      flags: DeliveryFlags.default | m.envelope.traceFlags,
                                      activeArrival: .init(seconds: now.tv_sec, microseconds: Int(now.tv_usec)))
        let channel = DeliveryChannel(transport: transport, queueDirectory: try stock.queue,
                                      timeouts: ExchangeTimeouts(ipc: 60, watchdog: 120), now: Clock.now())
        PollDriver.run(channel, limit: 120)
        if channel.isReadyForRequest {
            XCTAssertTrue(channel.send(request, now: Clock.now()))
            PollDriver.run(channel, limit: 120)
        }
        return try XCTUnwrap(channel.outcome, "the channel settled")
    }

    func complete(_ m: Message, deferred: Bool, policy: CompletionPolicy = CompletionPolicy(),
                  now: Int = time(nil)) throws -> CompletionRunner.Result {
        var message = CompletedMessage(envelope: m.envelope, queueID: m.id)
        message.deferred = deferred
        message.notifySuccess = m.recipients.contains { $0.dsnNotify & 2 != 0 }
        let completion = MessageCompletion(message, policy: policy,
                                           services: StatusServices(queueDirectory: try stock.queue, timeout: 60), now: now)
        return CompletionRunner.run(completion)
    }

    func reread(_ m: Message) throws -> (Envelope, [QueuedRecipient]) {
        let (e, b) = try Envelope.read(bytes: [UInt8](XCTUnwrap(FileManager.default.contents(atPath: m.path))), name: m.path)
        return (e, b.recipients)
    }

    func logPath(_ m: Message, _ queue: QueueName) throws -> String {
        try stock.queue + "/" + QueueHashing.stockDefault.path(of: m.id, in: queue)
    }

    /// Delivers a notice bounce(8) made (now in incoming/) to the sender with stock local; returns the mailbox text.
    func deliverNotice(_ incoming: String, containing needle: String) throws -> String {
        let notice = try activate(incoming)
        XCTAssertEqual(notice.envelope.sender, "", "notices come from the null sender")
        XCTAssertEqual(notice.recipients.map(\.address), [ByteString(Self.sender)])
        XCTAssertEqual(try deliver(notice, transport: "local", nexthop: "localhost"), .replied(DeliveryReply(status: 0)))
        var text = ""
        let instance = try stock.instance
        XCTAssertTrue(waitUntil(timeout: 30) {
            text = instance.mailbox("nobody").joined(separator: "\n")
            return text.contains(needle)
        }, "\(needle) not in the mailbox:\n\(text)")
        return text
    }

    // MARK: all delivered

    func testSmtpToSinkDeliversEveryRecipientAndTheMessageIsRemoved() throws {
        let sink = try SmtpSink()
        defer { sink.stop() }
        let m = try submit(["a@remote.example", "b@remote.example"])
        let mark = try stock.instance.logMark()
        let outcome = try deliver(m, transport: "smtp", nexthop: ByteString("[127.0.0.1]:\(sink.port)"))
        XCTAssertEqual(outcome, .replied(DeliveryReply(status: 0)))
        let verdict = DeliveryVerdict.judge(outcome, transport: "smtp", queueID: m.id.text)
        XCTAssertEqual(verdict, DeliveryVerdict(transport: .unthrottle, queue: .positiveFeedback, entry: .finished,
                                                messageDeferred: false))
        XCTAssertEqual(try reread(m).1, [], "stock smtp marked both recipients done")
        XCTAssertTrue(sink.waitForMessages(1, timeout: 30), sink.output())
        for r in ["a", "b"] {
            XCTAssertNotNil(try stock.instance.waitForLog("\(m.id): to=<\(r)@remote.example>", "relay=127.0.0.1", "status=sent", since: mark))
        }
        let done = try complete(m, deferred: verdict.messageDeferred)
        XCTAssertEqual(done.decision, .remove)
        XCTAssertEqual(done.info, [])
        XCTAssertEqual(QmgrLogLines.removed(m.id.text), "\(m.id): removed")
    }

    func testLocalDeliveryReachesTheMailbox() throws {
        let m = try submit([Self.sender], subject: "local-\(getpid())")
        XCTAssertEqual(try deliver(m, transport: "local", nexthop: "localhost"), .replied(DeliveryReply(status: 0)))
        XCTAssertTrue(try stock.instance.mailbox("nobody").contains { $0.contains("body of local-\(getpid())") })
        XCTAssertEqual(try reread(m).1, [])
        XCTAssertEqual(try complete(m, deferred: false).decision, .remove)
    }

    // MARK: bounced

    func testErrorAgentBounceFlushPutsTheDSNInTheSendersMailbox() throws {
        let m = try submit(["gone@remote.example"])
        let outcome = try deliver(m, transport: "error", nexthop: "5.1.1 no such user here")
        XCTAssertEqual(outcome, .replied(DeliveryReply(status: 0)), "a bounce is final")
        XCTAssertEqual(try reread(m).1, [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: try logPath(m, .bounce)))
        var done: CompletionRunner.Result?
        let notice = try stock.newQueueFile("bounce flush") { done = try complete(m, deferred: false) }
        XCTAssertEqual(done?.decision, .remove)
        XCTAssertFalse(FileManager.default.fileExists(atPath: try logPath(m, .bounce)), "bounce(8) removed its log")
        let mailbox = try deliverNotice(notice, containing: "Undelivered Mail Returned to Sender")
        XCTAssertTrue(mailbox.contains("<gone@remote.example>: no such user here"), mailbox)
    }

    // MARK: deferred

    func testRetryDeferralKeepsTheRecipientAndDefersWithBackoff() throws {
        let m = try submit(["later@remote.example"])
        let outcome = try deliver(m, transport: "retry", nexthop: "4.4.4 try again later")
        guard case .replied(let reply) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertNotEqual(reply.status, 0)
        XCTAssertTrue(DeliveryVerdict.judge(outcome, transport: "retry", queueID: m.id.text).messageDeferred)
        XCTAssertEqual(try reread(m).1.map(\.address), ["later@remote.example"])
        let log = try String(contentsOfFile: try logPath(m, .defer), encoding: .utf8)
        XCTAssertTrue(log.contains("recipient=later@remote.example\n"), log)
        XCTAssertTrue(log.contains("status=4.4.4\naction=delayed\n"), log)
        let now = time(nil)
        let done = try complete(m, deferred: true, now: now)
        let delay = max(300, min(4000, now - m.envelope.createTime))
        XCTAssertEqual(done.decision, .deferUntil(now + delay))
        XCTAssertEqual(done.info, [])
        XCTAssertEqual(try reread(m).0.warningTime, m.envelope.warningTime, "no warning before its time")
    }

    func testExpiredMessageIsReturnedToSenderAndRemoved() throws {
        let m = try submit(["never@remote.example"])
        _ = try deliver(m, transport: "retry", nexthop: "4.4.4 still not there")
        var done: CompletionRunner.Result?
        let notice = try stock.newQueueFile("expiry") {
            done = try complete(m, deferred: true, policy: CompletionPolicy(maximalQueueLifetime: 0))
        }
        XCTAssertEqual(done?.info, ["\(m.id): from=<\(Self.sender)>, status=expired, returned to sender"])
        XCTAssertEqual(done?.decision, .remove, "the defer flush's status replaces the defer flag")
        XCTAssertEqual(try reread(m).1, [], "bounce(8) marked the logged recipients done (DELRCPT)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: try logPath(m, .defer)))
        let mailbox = try deliverNotice(notice, containing: "still not there")
        XCTAssertTrue(mailbox.contains("Undelivered Mail Returned to Sender"), mailbox)
    }

    func testDelayWarningWhenDueRewritesTheWarnRecord() throws {
        let m = try submit(["slow@remote.example"])
        XCTAssertGreaterThan(m.envelope.warningTime, 0, "cleanup wrote a W record (delay_warning_time)")
        _ = try deliver(m, transport: "retry", nexthop: "4.4.4 slow site")
        let now = m.envelope.warningTime - 1
        var done: CompletionRunner.Result?
        let notice = try stock.newQueueFile("delay warning") { done = try complete(m, deferred: true, now: now) }
        XCTAssertEqual(done?.info, [])
        let delay = max(300, min(4000, now - m.envelope.createTime))
        XCTAssertEqual(done?.decision, .deferUntil(now + delay))
        let (after, recipients) = try reread(m)
        XCTAssertEqual(after.warningTime, -1, "warning sent")
        XCTAssertEqual(after.warningOffset, m.envelope.warningOffset)
        XCTAssertEqual(recipients.map(\.address), ["slow@remote.example"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: try logPath(m, .defer)), "a warning keeps the defer log")
        _ = try deliverNotice(notice, containing: "Delayed Mail (still being retried)")
        // A second completion after the warning sends none.
        let again = try complete(try activateAgain(m), deferred: true, now: now + 10)
        XCTAssertEqual(again.decision, .deferUntil(now + 10 + max(300, min(4000, now + 10 - m.envelope.createTime))))
    }

    /// The same active file, read again (its W record changed).
    func activateAgain(_ m: Message) throws -> Message {
        let (e, r) = try reread(m)
        return Message(id: m.id, path: m.path, envelope: e, recipients: r)
    }

    // MARK: traced

    func testSendmailVerboseGetsATraceReportAndTheTraceFlagsRecordIsKilled() throws {
        let m = try submit(["seen@remote.example"], options: ["-v"])
        XCTAssertEqual(m.envelope.traceFlags, DeliveryFlags.record)
        let offset = try XCTUnwrap(m.envelope.traceFlagsOffset)
        XCTAssertEqual(try deliver(m, transport: "discard", nexthop: "remote.example"), .replied(DeliveryReply(status: 0)))
        var done: CompletionRunner.Result?
        let notice = try stock.newQueueFile("trace flush") { done = try complete(m, deferred: false) }
        XCTAssertEqual(done?.decision, .remove)
        let bytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: m.path)))
        XCTAssertEqual(bytes[offset], UInt8(ascii: "K"), "the trace_flags record is killed")
        _ = try deliverNotice(notice, containing: "Mail Delivery Status Report")
    }

    // MARK: dead transport

    func testUnavailableTransportDefersEachRecipientThroughTheDeferService() throws {
        let m = try submit(["x@remote.example", "\"odd one\"@remote.example"])
        let outcome = try deliver(m, transport: "nosuch", nexthop: "remote.example")
        let verdict = DeliveryVerdict.judge(outcome, transport: "nosuch", queueID: m.id.text)
        XCTAssertEqual(verdict.warnings, ["connect to transport private/nosuch: No such file or directory"])
        let dsn = try XCTUnwrap(verdict.deferTransportTodo)
        XCTAssertEqual(RecipientDeferral.retryNexthop(dsn), "4.3.0 mail transport unavailable")
        let deferral = RecipientDeferral(services: StatusServices(queueDirectory: try stock.queue))
        var now = timeval()
        gettimeofday(&now, nil)
        var deferred = false
        for r in m.recipients {
            let result = deferral.deferRecipient(queueID: m.id.text, traceFlags: 0,
                                                 stats: MessageStats(incomingArrival: .init(seconds: m.envelope.arrivalSeconds,
                                                                                            microseconds: m.envelope.arrivalMicroseconds),
                                                                     activeArrival: .init(seconds: now.tv_sec, microseconds: Int(now.tv_usec))),
                                                 recipient: r, dsn: dsn, now: .init(seconds: now.tv_sec, microseconds: Int(now.tv_usec)))
            XCTAssertEqual(result.status, -1)
            XCTAssertEqual(result.warnings, [])
            XCTAssertEqual(result.fastFlushSite, "remote.example")
            deferred = deferred || result.status != 0
            let line = try XCTUnwrap(result.info.first)
            let pattern = "^\(m.id): to=<[^>]+>, relay=none, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0/0, dsn=4.3.0, status=deferred \\(mail transport unavailable\\)$"
            XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), line)
        }
        XCTAssertTrue(deferred)
        let log = try String(contentsOfFile: try logPath(m, .defer), encoding: .utf8)
        XCTAssertTrue(log.contains("recipient=x@remote.example\n"), log)
        XCTAssertTrue(log.contains("recipient=\"odd one\"@remote.example\n"), log)
        XCTAssertEqual(log.components(separatedBy: "status=4.3.0\naction=delayed\n").count, 3, log)
        XCTAssertTrue(log.contains("reason=mail transport unavailable\n"), log)
        guard case .deferUntil = try complete(m, deferred: true).decision else { return XCTFail("deferred") }
    }
}
