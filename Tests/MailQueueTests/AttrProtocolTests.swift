// AttrProtocolTests - attr0 encoding, incremental decoding with limits,
// typed scanning (strict and lenient), base64; and the blocking connection
// against peers that misbehave on purpose (silent, hanging up, flooding,
// wrong numbers), over real UNIX-domain sockets.
import XCTest
import Foundation
import Glibc
import TestSupport
@testable import MailQueue

final class AttrProtocolTests: XCTestCase {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testEncoding() {
        XCTAssertEqual(AttrList([.string("protocol", "trivial_rewrite_protocol")]).encoded,
                       bytes("protocol\0trivial_rewrite_protocol\0\0"))
        XCTAssertEqual(AttrList([.int("status", -1), .long("offset", -1), .int("n", 4711), .string("empty", "")]).encoded,
                       bytes("status\04294967295\0offset\018446744073709551615\0n\04711\0empty\0\0\0"))
        XCTAssertEqual(AttrList([.data("time", [0, 1, 2, 255])]).encoded, bytes("time\0AAEC/w==\0\0"))
        // A value is written up to its first NUL, as stock's C strings are.
        XCTAssertEqual(AttrList([.string("a", ByteString([0x78, 0, 0x79]))]).encoded, bytes("a\0x\0\0"))
        XCTAssertEqual(AttrList().encoded, [0])
    }

    func testBase64AgainstFoundation() {
        var rng = SplitMix(seed: 64)
        for length in 0..<70 {
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let ours = Base64.encode(data)
            XCTAssertEqual(String(decoding: ours, as: UTF8.self), Data(data).base64EncodedString())
            XCTAssertEqual(Base64.decode(ours), data)
        }
        for bad in ["A", "AAA", "A===", "AB=A", "AB==AAAA", "AB*=", "AB c", "AR==", "AAB="] {
            XCTAssertNil(Base64.decode(bytes(bad)), bad)
        }
        XCTAssertEqual(Base64.decode(bytes("")), [])
    }

    func testIncrementalDecoding() throws {
        let wire = bytes("protocol\0p\0\0flags\00\0transport\0smtp\0nexthop\0\0\0")
        var decoder = AttrDecoder(peer: "peer")
        var lists: [AttrList] = []
        for b in wire {
            decoder.feed([b])
            while let l = try decoder.nextList() { lists.append(l) }
        }
        XCTAssertEqual(lists, [AttrList([.init("protocol", "p")]),
                               AttrList([.init("flags", "0"), .init("transport", "smtp"), .init("nexthop", "")])])
        XCTAssertFalse(decoder.hasPartialInput)
        XCTAssertNoThrow(try decoder.finish())
        // Nothing is lost: 8-bit names and values come back byte for byte.
        let eightBit: [UInt8] = [0x6E, 0x9F, 0x00, 0xFF, 0xE9, 0x00, 0x00]
        XCTAssertEqual(try AttrDecoder.decodeAll(eightBit).lists.flatMap(\.encoded), eightBit)
        decoder.feed(bytes("name\0val"))
        XCTAssertNil(try decoder.nextList())
        XCTAssertThrowsError(try decoder.finish()) {
            XCTAssertEqual("\($0)", "premature end-of-input on peer while reading an attribute list")
        }
    }

    func testDecoderLimits() {
        let limits = AttrDecoder.Limits(maximumStringLength: 16, maximumAttributes: 2)
        XCTAssertThrowsError(try AttrDecoder.decodeAll(bytes(String(repeating: "x", count: 17)), limits: limits)) {
            XCTAssertEqual("\($0)", "string length exceeds limit 16 in input from (memory)")
        }
        XCTAssertNoThrow(try AttrDecoder.decodeAll(bytes(String(repeating: "x", count: 16)), limits: limits))
        XCTAssertThrowsError(try AttrDecoder.decodeAll(bytes("a\0 1\0b\0 2\0c\0"), limits: limits)) {
            XCTAssertEqual("\($0)", "attribute count exceeds limit 2 in input from (memory)")
        }
        XCTAssertEqual(try AttrDecoder.decodeAll(bytes("a\01\0b\02\0\0"), limits: limits).lists.count, 1)
        // A long run of lists is decoded in linear time (no copying per string).
        let many = [UInt8](repeating: 0, count: 200_000)
        XCTAssertEqual(try AttrDecoder.decodeAll(many).lists.count, 200_000)
    }

    func testStrictAndLenientScanning() throws {
        let list = AttrList([.init("flags", "0"), .init("extra", "x"), .init("status", "4294967295"),
                             .init("offset", "18446744073709551615"), .init("time", "AAEC/w==")])
        var strict = AttrScanner(list, peer: "private/smtp")
        XCTAssertEqual(try strict.int("flags"), 0)
        XCTAssertThrowsError(try strict.int("status")) {
            XCTAssertEqual("\($0)", "unexpected attribute extra from private/smtp (expecting: status)")
        }
        var lenient = AttrScanner(list, peer: "private/smtp", strict: false)
        XCTAssertEqual(try lenient.int("flags"), 0)
        XCTAssertEqual(try lenient.signedInt("status"), -1)
        XCTAssertEqual(try lenient.long("offset"), UInt64.max)
        XCTAssertEqual(try lenient.data("time"), [0, 1, 2, 255])
        XCTAssertThrowsError(try lenient.string("more")) {
            XCTAssertEqual("\($0)", "missing attribute more in input from private/smtp")
        }
        var extra = AttrScanner(AttrList([.init("a", "1"), .init("b", "2")]), peer: "p")
        _ = try extra.string("a")
        XCTAssertThrowsError(try extra.finish()) {
            XCTAssertEqual("\($0)", "unexpected attribute b from p (expecting: (list terminator))")
        }
        for bad in ["-1", "", "12x", " 1", "4294967296", "+1"] {
            var s = AttrScanner(AttrList([.init("n", ByteString(bad))]), peer: "p")
            XCTAssertThrowsError(try s.int("n"), bad) {
                XCTAssertEqual("\($0)", "malformed numerical data from p while reading n: \(bad)")
            }
        }
        var data = AttrScanner(AttrList([.init("time", "AA=A")]), peer: "p")
        XCTAssertThrowsError(try data.data("time")) {
            XCTAssertEqual("\($0)", "malformed base64 data from p while reading time: AA=A")
        }
        var greeting = AttrScanner(AttrList([.init("protocol", "delivery_status_protocol")]), peer: "private/bounce")
        XCTAssertThrowsError(try greeting.expect("protocol", equals: "trivial_rewrite_protocol")) {
            XCTAssertEqual("\($0)", "unexpected protocol delivery_status_protocol from private/bounce (expected: trivial_rewrite_protocol)")
        }
    }

    // MARK: connections to misbehaving peers

    func testConnectFailureNamesThePeer() {
        XCTAssertThrowsError(try AttrConnection(path: "/nonexistent/private/rewrite", peer: "private/rewrite")) {
            XCTAssertEqual("\($0)", "connect to private/rewrite: No such file or directory")
        }
    }

    func testUnixStreamConnectStartsWithoutBlocking() throws {
        XCTAssertThrowsError(try UnixStreamConnect.start("/" + String(repeating: "x", count: 200))) {
            XCTAssertEqual($0 as? SystemErrno, SystemErrno(ENAMETOOLONG))
        }
        XCTAssertThrowsError(try UnixStreamConnect.start("/nonexistent/private/smtp")) {
            XCTAssertEqual("\($0)", "No such file or directory")
        }
        let peer = try ScriptedPeer { fd in ScriptedPeer.write(fd, [0]) }
        defer { peer.stop() }
        let fd: Int32
        switch try UnixStreamConnect.start(peer.path) {
        case .connected(let c), .inProgress(let c): fd = c
        }
        defer { close(fd) }
        XCTAssertEqual(UnixStreamConnect.pendingError(fd), 0)
        XCTAssertNotEqual(fcntl(fd, F_GETFL) & O_NONBLOCK, 0, "non-blocking")
        XCTAssertNotEqual(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0, "close-on-exec")
    }

    func testSilentPeerTimesOut() throws {
        let peer = try ScriptedPeer { fd in _ = fd; usleep(3_000_000) }
        defer { peer.stop() }
        let c = try AttrConnection(path: peer.path, peer: "silent", timeout: 0.5)
        let start = Date()
        XCTAssertThrowsError(try c.receive()) {
            XCTAssertEqual("\($0)", "timeout on silent while reading an attribute list")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.45)
    }

    func testPeerHangingUpMidList() throws {
        let peer = try ScriptedPeer { fd in ScriptedPeer.write(fd, Array("protocol\0trivial_rewrite".utf8)) }
        defer { peer.stop() }
        let c = try AttrConnection(path: peer.path, peer: "private/rewrite", timeout: 5)
        XCTAssertThrowsError(try c.expectGreeting("trivial_rewrite_protocol")) {
            XCTAssertEqual("\($0)", "premature end-of-input on private/rewrite while reading an attribute list")
        }
    }

    func testFloodingPeerHitsTheLimit() throws {
        let peer = try ScriptedPeer { fd in
            let chunk = [UInt8](repeating: 0x41, count: 65536)
            for _ in 0..<8 where ScriptedPeer.write(fd, chunk) {}
        }
        defer { peer.stop() }
        let c = try AttrConnection(path: peer.path, peer: "flood", timeout: 5,
                                   limits: AttrDecoder.Limits(maximumStringLength: 100_000))
        XCTAssertThrowsError(try c.receive()) {
            XCTAssertEqual("\($0)", "string length exceeds limit 100000 in input from flood")
        }
    }

    func testWritingToAPeerThatLeftIsAnErrorNotASignal() throws {
        // With SIGPIPE's default action a plain write would kill this process.
        let previous = signal(SIGPIPE, SIG_DFL)
        defer { signal(SIGPIPE, previous) }
        let peer = try ScriptedPeer { _ in }
        defer { peer.stop() }
        let c = try AttrConnection(path: peer.path, peer: "gone", timeout: 5)
        peer.waitDone()
        usleep(100_000)
        var failed: AttrError?
        for _ in 0..<50 {
            do { try c.send(bytes: [UInt8](repeating: 0x41, count: 65536)) } catch { failed = error; break }
        }
        XCTAssertEqual(failed.map { "\($0)" }, "write to gone: Broken pipe")
    }
}
