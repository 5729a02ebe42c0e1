// FakeAgentTests - DeliveryChannel and StatusRequestChannel against real
// sockets whose peer misbehaves on purpose (ScriptedPeer): garbage or no
// greeting, garbage replies, hang-ups, silence past the deadlines, a reply
// dribbled byte by byte, a request larger than the socket buffer read
// slowly. Every case ends in an outcome value and stock's verdict, never a
// trap or a hang.
import XCTest
import Foundation
import Glibc
import TestSupport
import MailQueue
@testable import QmgrDelivery

final class FakeAgentTests: XCTestCase {
    var queueDirectory = ""

    override func setUpWithError() throws {
        queueDirectory = NSTemporaryDirectory() + "qdeliver-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: queueDirectory + "/private", withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: queueDirectory)
    }

    static let greeting = AttrList([.string("protocol", ByteString(DeliveryRequest.protocolName))]).encoded

    func agent(_ script: @escaping @Sendable (Int32) -> Void) throws -> ScriptedPeer {
        try ScriptedPeer(path: queueDirectory + "/private/fake", script)
    }

    func request(recipients: Int = 1) -> DeliveryRequest {
        DeliveryRequest(queueID: "ABCDEF123", dataOffset: 100, contentLength: 10, nexthop: "remote.example",
                        sender: "s@test.example", stats: MessageStats(),
                        recipients: (0..<recipients).map { QueuedRecipient(offset: 200 + $0, address: ByteString("r\($0)@remote.example")) })
    }

    /// Drives a channel the way the plugin will: until greeted, hand over the request, until settled.
    func deliver(_ request: DeliveryRequest?, timeouts: ExchangeTimeouts = ExchangeTimeouts(ipc: 10, watchdog: 10)) -> DeliveryOutcome? {
        let channel = DeliveryChannel(transport: "fake", queueDirectory: queueDirectory, timeouts: timeouts, now: Clock.now())
        PollDriver.run(channel, limit: 30)
        if channel.isReadyForRequest {
            if let request { XCTAssertTrue(channel.send(request, now: Clock.now())) } else { channel.abandon() }
            PollDriver.run(channel, limit: 30)
        }
        XCTAssertNil(channel.descriptor, "the connection is closed once it ends")
        return channel.outcome
    }

    /// Reads what a qmgr sends until the request is complete; nil when it does not arrive.
    static func readRequest(_ fd: Int32, slowly: Bool = false) -> DeliveryRequest? {
        var decoder = AttrDecoder(peer: "qmgr")
        var lists: [AttrList] = []
        var expected = Int.max
        var buffer = [UInt8](repeating: 0, count: slowly ? 512 : 65536)
        while lists.count < expected {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 10_000) == 1 else { return nil }
            if slowly { usleep(2_000) }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return nil }
            decoder.feed(buffer[0..<n])
            while let list = try? decoder.nextList() {
                if lists.isEmpty, let c = list["recipient_count"].flatMap({ Int($0.description) }) { expected = c + 1 }
                lists.append(list)
            }
        }
        return try? DeliveryRequest.decode(lists, peer: "qmgr")
    }

    // MARK: no agent, or not an agent

    func testNoSocketIsAnUnavailableTransport() throws {
        guard case .unavailable(let e)? = deliver(request()) else { return XCTFail("expected unavailable") }
        XCTAssertEqual(e.problem, .connect(errno: ENOENT))
        let v = DeliveryVerdict.judge(.unavailable(e), transport: "fake", queueID: "ABCDEF123")
        XCTAssertEqual(v.warnings, ["connect to transport private/fake: No such file or directory"])
        XCTAssertEqual(v.transport, .throttle(DSN(status: "4.3.0", reason: "mail transport unavailable")))
        XCTAssertEqual(v.deferTransportTodo, DSN(status: "4.3.0", reason: "mail transport unavailable"))
        XCTAssertEqual(v.entry, .notChosen)
        XCTAssertNil(v.fatal)
    }

    func testGarbageGreetingIsAMalformedResponse() throws {
        let peer = try agent { fd in ScriptedPeer.write(fd, Array("protocol\0smtp_please\0\0".utf8)) }
        defer { peer.stop() }
        guard case .unavailable(let e)? = deliver(request()) else { return XCTFail("expected unavailable") }
        XCTAssertEqual(e.step, .greeting)
        XCTAssertEqual("\(e)", "malformed input from private/fake while reading the service greeting: "
                       + "unexpected protocol smtp_please from private/fake (expected: delivery_request_protocol)")
        let v = DeliveryVerdict.judge(.unavailable(e), transport: "fake", queueID: "ABCDEF123")
        XCTAssertEqual(v.warnings, ["private/fake socket: malformed response"])
        XCTAssertEqual(v.transport, .throttle(DeliveryVerdict.transportUnavailable))
    }

    func testHangUpBeforeGreetingAndBinaryNoise() throws {
        let quiet = try agent { _ in }
        guard case .unavailable(let e)? = deliver(request()) else { return XCTFail("expected unavailable") }
        quiet.stop()
        XCTAssertEqual(e.problem, .disconnected)
        let noise = try agent { fd in ScriptedPeer.write(fd, [UInt8](repeating: 0xFF, count: 300_000)) }
        defer { noise.stop() }
        guard case .unavailable(let n)? = deliver(request()) else { return XCTFail("expected unavailable") }
        XCTAssertEqual(n.problem, .malformed(AttrError(peer: "private/fake", problem: .stringTooLong(limit: 256 * 1024))))
    }

    func testSilentAgentHitsTheWatchdogWhichStockMakesFatal() throws {
        let peer = try agent { _ in usleep(3_000_000) }
        defer { peer.stop() }
        let start = Clock.now()
        guard case .unavailable(let e)? = deliver(request(), timeouts: ExchangeTimeouts(ipc: 10, watchdog: 0.5)) else {
            return XCTFail("expected unavailable")
        }
        XCTAssertLessThan(Clock.now() - start, 2.5)
        XCTAssertEqual(e.problem, .watchdogTimeout(seconds: 0.5))
        XCTAssertEqual(DeliveryVerdict.judge(.unavailable(e), transport: "fake", queueID: "ABCDEF123").fatal,
                       "timeout connecting to transport: fake")
    }

    // MARK: an agent that fails after the request

    func testGarbageReplyIsACrash() throws {
        let peer = try agent { fd in
            ScriptedPeer.write(fd, FakeAgentTests.greeting)
            _ = FakeAgentTests.readRequest(fd)
            ScriptedPeer.write(fd, Array("status\0001\0\0".utf8))
        }
        defer { peer.stop() }
        guard case .crashed(let e)? = deliver(request()) else { return XCTFail("expected a crash") }
        XCTAssertEqual(e.step, .reply)
        let v = DeliveryVerdict.judge(.crashed(e), transport: "fake", queueID: "ABCDEF123")
        XCTAssertEqual(v.warnings, ["private/fake socket: malformed response"])
        XCTAssertEqual(v.transport, .unchanged, "a crash keeps the transport's state (and rate lock)")
        XCTAssertEqual(v.queue, .unchanged)
        XCTAssertTrue(v.messageDeferred)
        XCTAssertEqual(v.entry, .finished)
    }

    func testAgentDyingAfterTheRequestIsACrashAndAbandonCloses() throws {
        let peer = try agent { fd in
            ScriptedPeer.write(fd, FakeAgentTests.greeting)
            _ = FakeAgentTests.readRequest(fd)
        }
        guard case .crashed(let e)? = deliver(request()) else { return XCTFail("expected a crash") }
        peer.stop()
        XCTAssertEqual(e.problem, .disconnected)

        // No work any more: the agent sees the connection close without a request.
        let sawEOF = ResultBox()
        let idle = try agent { fd in
            ScriptedPeer.write(fd, FakeAgentTests.greeting)
            var b = [UInt8](repeating: 0, count: 16)
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 10_000) == 1 { sawEOF.set(recv(fd, &b, 16, 0) == 0) }
        }
        XCTAssertEqual(deliver(nil), .abandoned)
        idle.stop()
        XCTAssertEqual(sawEOF.value, true)
        XCTAssertEqual(DeliveryVerdict.judge(.abandoned, transport: "fake", queueID: "X").entry, .notChosen)
    }

    /// The plugin removes its event-loop watch in `willClose`: the hook must
    /// run once per connection, before the close, with the number still open.
    func testWillCloseRunsOnceWithTheDescriptorStillOpen() throws {
        let peer = try agent { fd in
            ScriptedPeer.write(fd, FakeAgentTests.greeting)
            _ = FakeAgentTests.readRequest(fd)
        }
        defer { peer.stop() }
        var calls: [(fd: Int32, open: Bool)] = []
        let channel = DeliveryChannel(transport: "fake", queueDirectory: queueDirectory,
                                      timeouts: ExchangeTimeouts(ipc: 10, watchdog: 10), now: Clock.now())
        let opened = try XCTUnwrap(channel.descriptor)
        channel.willClose = { fd in calls.append((fd, fcntl(fd, F_GETFD) >= 0)) }
        PollDriver.run(channel, limit: 30)
        XCTAssertTrue(channel.send(request(), now: Clock.now()))
        PollDriver.run(channel, limit: 30)
        guard case .crashed? = channel.outcome else { return XCTFail("expected a crash") }
        XCTAssertNil(channel.descriptor)
        XCTAssertEqual(calls.map(\.fd), [opened])
        XCTAssertEqual(calls.map(\.open), [true])
        channel.abandon()
        XCTAssertEqual(calls.count, 1, "an ended exchange does not close twice")

        // Abandoned before a request, and dropped without an end: the hook runs too.
        for dropOnly in [false, true] {
            var seen: [Bool] = []
            var pending: DeliveryChannel? = DeliveryChannel(transport: "fake", queueDirectory: queueDirectory,
                                                            timeouts: ExchangeTimeouts(), now: Clock.now())
            pending?.willClose = { fd in seen.append(fcntl(fd, F_GETFD) >= 0) }
            if !dropOnly { pending?.abandon() }
            pending = nil
            XCTAssertEqual(seen, [true], dropOnly ? "deinit" : "abandon")
        }
    }

    // MARK: partial reads and writes

    func testBigRequestReadSlowlyAndReplyDribbledByteByByte() throws {
        let big = request(recipients: 3000)
        XCTAssertGreaterThan(big.encoded.count, 200_000, "larger than a socket buffer")
        let received = RequestBox()
        let peer = try agent { fd in
            ScriptedPeer.write(fd, FakeAgentTests.greeting)
            received.set(FakeAgentTests.readRequest(fd, slowly: true))
            let reply = DeliveryReply(hopStatus: DSN(status: "4.4.1", reason: "connect to mx: refused"), status: -1)
            for b in reply.list.encoded {
                ScriptedPeer.write(fd, [b])
                usleep(200)
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 10_000)
        }
        defer { peer.stop() }
        guard case .replied(let reply)? = deliver(big) else { return XCTFail("expected a reply") }
        XCTAssertEqual(received.value, big)
        XCTAssertEqual(reply.status, -1)
        let v = DeliveryVerdict.judge(.replied(reply), transport: "fake", queueID: "ABCDEF123")
        XCTAssertEqual(v.queue, .negativeFeedback(DSN(status: "4.4.1", reason: "delivery temporarily suspended: connect to mx: refused")))
        XCTAssertEqual(v.transport, .unthrottle)
        XCTAssertTrue(v.messageDeferred)
    }

    func testReplyStartedThenStalledHitsTheIPCTimeout() throws {
        let peer = try agent { fd in
            ScriptedPeer.write(fd, FakeAgentTests.greeting)
            _ = FakeAgentTests.readRequest(fd)
            ScriptedPeer.write(fd, Array("status\0".utf8))
            usleep(3_000_000)
        }
        defer { peer.stop() }
        guard case .crashed(let e)? = deliver(request(), timeouts: ExchangeTimeouts(ipc: 0.5, watchdog: 100)) else {
            return XCTFail("expected a crash")
        }
        XCTAssertEqual(e.problem, .ipcTimeout(seconds: 0.5))
        XCTAssertNil(DeliveryVerdict.judge(.crashed(e), transport: "fake", queueID: "ABCDEF123").fatal)
    }

    func testAgentThatNeverRepliesHitsTheWatchdogWithStockFatalText() throws {
        let peer = try agent { fd in
            ScriptedPeer.write(fd, FakeAgentTests.greeting)
            _ = FakeAgentTests.readRequest(fd)
            usleep(3_000_000)
        }
        defer { peer.stop() }
        guard case .crashed(let e)? = deliver(request(), timeouts: ExchangeTimeouts(ipc: 10, watchdog: 0.5)) else {
            return XCTFail("expected a crash")
        }
        XCTAssertEqual(DeliveryVerdict.judge(.crashed(e), transport: "fake", queueID: "ABCDEF123").fatal,
                       "ABCDEF123: timeout receiving delivery status from transport: fake")
    }

    // MARK: status daemons

    func testStatusRequestToGarbageOrMissingServiceIsMinusOne() throws {
        let services = StatusServices(queueDirectory: queueDirectory, timeout: 5)
        let notice = StatusNoticeRequest(command: .flush, flags: 0, queueID: "ABCDEF123", sender: "s@test.example")
        let missing = StatusRequestChannel(notice, service: "bounce", services: services, now: Clock.now())
        PollDriver.run(missing, limit: 10)
        XCTAssertEqual(missing.status, -1)
        XCTAssertEqual(missing.failure, "connect to private/bounce: No such file or directory")

        let peer = try ScriptedPeer(path: queueDirectory + "/private/bounce") { fd in
            ScriptedPeer.write(fd, AttrList([.string("protocol", "delivery_status_protocol")]).encoded)
            var b = [UInt8](repeating: 0, count: 4096)
            _ = recv(fd, &b, b.count, 0)
            ScriptedPeer.write(fd, Array("status\0minus one\0\0".utf8))
        }
        defer { peer.stop() }
        let garbage = StatusRequestChannel(notice, service: "bounce", services: services, now: Clock.now())
        PollDriver.run(garbage, limit: 10)
        XCTAssertEqual(garbage.status, -1)
        XCTAssertEqual(garbage.failure, "malformed numerical data from private/bounce while reading status: minus one")
    }
}

/// A value set by a peer thread, read by the test.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool?
    func set(_ v: Bool) { lock.lock(); stored = v; lock.unlock() }
    var value: Bool? { lock.lock(); defer { lock.unlock() }; return stored }
}

final class RequestBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: DeliveryRequest?
    func set(_ v: DeliveryRequest?) { lock.lock(); stored = v; lock.unlock() }
    var value: DeliveryRequest? { lock.lock(); defer { lock.unlock() }; return stored }
}
