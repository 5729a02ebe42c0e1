// StockLoadTests - queue files written by a verified stock cleanup(8), found
// by our incoming scan, moved into active and loaded with the instance's
// stock trivial-rewrite resolving every recipient: routes for local
// (one recipient per queue), relay, transport_maps, an error: route, an
// unknown user of a virtual alias domain (its bounce reason), double-bounce
// mail discarded, defer_transports (lifted by a flush), a content filter,
// a REDIRECT, a verification probe bypassing the filter; the "(queue
// active)" line; a file locked by an agent; and byte edits of real files
// that make them corrupt, with errors naming the file.
import XCTest
import Foundation
import Glibc
import TestSupport
import MailQueue
@testable import QmgrQueue

final class StockLoadTests: XCTestCase {
    static let shared = SharedStockInstance { try StockQueueInstance.withRoutes() }

    override class func tearDown() {
        shared.destroy()
        super.tearDown()
    }

    func settings(_ stock: StockQueueInstance) throws -> LoadSettings {
        LoadSettings(myhostname: ByteString(try stock.parameter("myhostname")),
                     destinationRecipientLimit: { $0 == "local" ? 1 : 50 })
    }

    /// Scans incoming until `path`'s queue file turns up, and feeds it into active.
    func feed(_ stock: StockQueueInstance, _ path: String, flags: ScanFlags = []) throws -> ActiveCandidate {
        let store = QueueStore(root: stock.queue)
        let scan = QueueScan(queue: .incoming, store: store)
        try scan.request(flags.union(.start))
        let name = String(path.split(separator: "/").last ?? "")
        while let id = try scan.next() {
            guard id.text == name else { continue }
            guard case .moved(let candidate) = try scan.feed(id).disposition else {
                throw HarnessError("\(path) was not moved into active")
            }
            return candidate
        }
        throw HarnessError("the incoming scan did not find \(path)")
    }

    func load(_ stock: StockQueueInstance, _ candidate: ActiveCandidate, settings: LoadSettings? = nil,
              limit: Int = 100) throws -> (LoadedMessage, RoutedBatch) {
        let loader = MessageLoader(store: QueueStore(root: stock.queue), resolver: TrivialRewriteClient(queueDirectory: stock.queue),
                                   settings: try settings ?? self.settings(stock))
        switch try loader.load(candidate, recipientLimit: limit, pendingProbes: 0) {
        case .loaded(let m, let b): return (m, b)
        case let other: throw HarnessError("load \(candidate.id): \(other)")
        }
    }

    func routes(_ batch: RoutedBatch) -> [String: Route] {
        Dictionary(uniqueKeysWithValues: batch.routed.map { ($0.recipient.address.description, $0.route) })
    }

    func testRoutesOfRealRecipients() throws {
        let stock = try Self.shared.get()
        let host = try stock.parameter("myhostname")
        let rcpts = ["User+ext@localhost", "a@relay.example", "b@mapped.example", "c@errored.example",
                     "nobody@alias.example", "double-bounce@localhost", "d@remote.example"]
        let path = try stock.sendmail(["-f", "sender@test.example"] + rcpts, message: "Subject: routes\n\nhello\n")
        let (message, batch) = try load(stock, try feed(stock, path))
        let r = routes(batch)
        XCTAssertEqual(r["User+ext@localhost"], Route(transport: "local", nexthop: ByteString(host),
                                                     queueName: ByteString("user+ext@" + host.lowercased())))
        XCTAssertEqual(r["a@relay.example"], Route(transport: "relay", nexthop: "relay.example", queueName: "relay.example"))
        XCTAssertEqual(r["b@mapped.example"], Route(transport: "smtp", nexthop: "[127.0.0.1]:2525", queueName: "[127.0.0.1]:2525"))
        XCTAssertEqual(r["c@errored.example"]?.statusReply?.status, "5.1.2")
        XCTAssertEqual(r["c@errored.example"]?.statusReply?.reason, "no such domain here")
        XCTAssertEqual(r["nobody@alias.example"]?.transport, "error")
        XCTAssertEqual(r["nobody@alias.example"]?.nexthop, "5.1.1 User unknown in virtual alias table")
        XCTAssertEqual(r["d@remote.example"], Route(transport: "smtp", nexthop: "remote.example", queueName: "remote.example"))
        XCTAssertEqual(batch.discarded.map(\.address), ["double-bounce@localhost"])
        XCTAssertEqual(batch.routed.map(\.route.transport), ["error", "error", "local", "relay", "smtp", "smtp"],
                       "stock's order: by transport, then queue name")
        XCTAssertEqual(batch.unassigned, [])
        XCTAssertEqual(message.openedLogLine, "\(message.id): from=<sender@test.example>, size=\(message.envelope.contentLength), nrcpt=7 (queue active)")
        XCTAssertFalse(message.hasUnreadRecipients)
        // Every recipient keeps its R record's offset.
        let offsets = Set(batch.routed.map(\.recipient.offset) + batch.discarded.map(\.offset))
        XCTAssertEqual(offsets.count, rcpts.count)

        // The same file again (as after a deferral): defer_transports sends smtp to retry, unless flushed.
        let store = QueueStore(root: stock.queue)
        XCTAssertTrue(try store.move(message.id, from: .active, to: .incoming).moved)
        var deferring = try settings(stock)
        deferring.deferTransports = LoadSettings.splitList("smtp, relay")
        let (_, deferred) = try load(stock, try feed(stock, "incoming/\(message.id)"), settings: deferring)
        XCTAssertEqual(routes(deferred)["d@remote.example"], Route(transport: "retry", nexthop: "4.3.2 deferred transport",
                                                                    queueName: "4.3.2 deferred transport"))
        XCTAssertEqual(routes(deferred)["a@relay.example"]?.transport, "retry")
        XCTAssertEqual(routes(deferred)["User+ext@localhost"]?.transport, "local")
        XCTAssertTrue(try store.move(message.id, from: .active, to: .incoming).moved)
        let (_, flushed) = try load(stock, try feed(stock, "incoming/\(message.id)", flags: .flushDeferredTransports),
                                    settings: deferring)
        XCTAssertEqual(routes(flushed)["d@remote.example"]?.transport, "smtp")
        // Batches: two recipients at a time, refilled until done.
        XCTAssertTrue(try store.move(message.id, from: .active, to: .incoming).moved)
        let loader = MessageLoader(store: store, resolver: TrivialRewriteClient(queueDirectory: stock.queue),
                                   settings: try settings(stock))
        guard case .loaded(var m, let first) = try loader.load(try feed(stock, "incoming/\(message.id)"),
                                                               recipientLimit: 2, pendingProbes: 0) else {
            return XCTFail("batch load")
        }
        var seen = first.routed.count + first.discarded.count
        XCTAssertEqual(seen, 2)
        while m.hasUnreadRecipients {
            guard case .loaded(let b) = try loader.refill(&m, recipientLimit: 2, pendingProbes: 0) else { return XCTFail("refill") }
            seen += b.routed.count + b.discarded.count
        }
        XCTAssertEqual(seen, rcpts.count)
    }

    func testContentFilterRedirectAndProbe() throws {
        let stock = try Self.shared.get()
        let checks = stock.etc + "/header_checks"
        try "/^Subject: redirect-me/ REDIRECT elsewhere@relay.example\n".write(toFile: checks, atomically: true, encoding: .utf8)
        try stock.reconfigure(["content_filter": "scan:", "header_checks": "regexp:" + checks])
        defer { try? stock.reconfigure(["content_filter": "", "header_checks": ""]) }
        let filtered = try stock.sendmail(["-f", "s@test.example", "x@remote.example", "y"],
                                          message: "Subject: filtered\n\nbody\n")
        let redirected = try stock.sendmail(["-f", "s@test.example", "p@remote.example", "q@relay.example"],
                                            message: "Subject: redirect-me\n\nbody\n")
        let probe = try stock.sendmail(["-f", "s@test.example", "-bv", "v@relay.example"], message: "")
        var s = try settings(stock)
        let (_, f) = try load(stock, try feed(stock, filtered), settings: s)
        let myorigin = try stock.parameter("myorigin")
        XCTAssertEqual(routes(f)["x@remote.example"], Route(transport: "scan", nexthop: "remote.example", queueName: "remote.example"))
        XCTAssertEqual(routes(f)["y@" + myorigin]?.nexthop.description, myorigin)
        XCTAssertTrue(f.routed.allSatisfy { $0.resolveFlags.isEmpty })

        let (rm, r) = try load(stock, try feed(stock, redirected), settings: s)
        XCTAssertEqual(r.routed.map(\.recipient.address), ["elsewhere@relay.example"])
        XCTAssertEqual(r.routed.first?.route.transport, "relay", "REDIRECT is resolved; the filter does not apply")
        XCTAssertEqual(r.unassigned.count, 1)
        XCTAssertFalse(rm.hasUnreadRecipients)

        s.defaultFilterNexthop = "[127.0.0.1]:10025"
        let (pm, p) = try load(stock, try feed(stock, probe), settings: s)
        XCTAssertEqual(pm.traceFlags & DeliveryFlags.userVerify, DeliveryFlags.userVerify)
        XCTAssertEqual(p.routed.first?.route.transport, "relay", "a probe is not filtered")
    }

    func testLockedFileIsStillBeingDelivered() throws {
        let stock = try Self.shared.get()
        let path = try stock.sendmail(["-f", "s@test.example", "l@remote.example"], message: "Subject: lock\n\nx\n")
        let candidate = try feed(stock, path)
        let store = QueueStore(root: stock.queue)
        // What a delivery agent holds while it delivers.
        let fd = open(store.path(of: candidate.id, in: .active), O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_SH | LOCK_NB), 0)
        let loader = MessageLoader(store: store, resolver: TrivialRewriteClient(queueDirectory: stock.queue),
                                   settings: try settings(stock))
        guard case .locked(let line) = try loader.load(candidate, recipientLimit: 10, pendingProbes: 0) else {
            return XCTFail("a locked file is not loaded")
        }
        XCTAssertEqual(line, "\(candidate.id): skipped, still being delivered")
        let due = now() + 60
        XCTAssertTrue(try store.deferActive(candidate.id, to: .incoming, retryTime: due).moved)
        XCTAssertEqual(Int(try XCTUnwrap(fileAttributes(store.path(of: candidate.id, in: .incoming))).st_mtim.tv_sec), due)
    }

    func testDamagedRealFilesAreCorrupt() throws {
        let stock = try Self.shared.get()
        let path = try stock.sendmail(["-f", "s@test.example", "m@remote.example"], message: "Subject: damage\n\nx\n")
        let bytes = try stock.bytes(of: path)
        let (envelope, _) = try Envelope.read(bytes: bytes)
        let store = QueueStore(root: stock.queue)
        func check(_ name: String, _ damaged: [UInt8], problem: QueueFileError.Problem, opened: Bool,
                   line: UInt = #line) throws {
            let file = stock.queue + "/incoming/" + name
            XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(damaged)), line: line)
            XCTAssertEqual(chmod(file, 0o700), 0, line: line)
            let candidate = try feed(stock, "incoming/" + name)
            let loader = MessageLoader(store: store, resolver: TrivialRewriteClient(queueDirectory: stock.queue),
                                       settings: try settings(stock))
            guard case .corrupt(let error, let openedLine) = try loader.load(candidate, recipientLimit: 10, pendingProbes: 0) else {
                return XCTFail("\(name) not corrupt", line: line)
            }
            XCTAssertEqual(error.file, "active/" + name, line: line)
            XCTAssertEqual(error.problem, problem, line: line)
            XCTAssertEqual(openedLine != nil, opened, "\(openedLine ?? "no line")", line: line)
            XCTAssertEqual(try store.saveCorrupt(candidate.id).logLine,
                           "saving corrupt file \"\(name)\" from queue \"active\" to queue \"corrupt\"", line: line)
        }
        // Truncated before the end record.
        try check("CUT0001", Array(bytes.dropLast(2)), problem: .missingEndRecord, opened: true)
        // An unknown record type where the sender record was.
        var bad = bytes
        let senderOffset = try XCTUnwrap(firstRecord(of: .from, in: bytes))
        bad[senderOffset] = UInt8(ascii: "Z")
        try check("TYPE0001", bad, problem: .unexpectedRecordType(RecordType(rawValue: UInt8(ascii: "Z"))), opened: false)
        // A content size beyond the end of the file.
        var big = envelope.size ?? SizeRecord()
        big.dataSize = bytes.count * 2
        var sized = bytes
        sized.replaceSubrange(2..<(2 + SizeRecord.payloadLength), with: big.payload)
        try check("SIZE0001", sized, problem: .contentBeyondEnd(dataOffset: big.dataOffset, dataSize: big.dataSize,
                                                                fileSize: bytes.count), opened: true)
        // Still being written (mode 0600): never taken.
        let file = stock.queue + "/incoming/MODE0001"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(bytes)))
        XCTAssertEqual(chmod(file, 0o600), 0)
        let scan = QueueScan(queue: .incoming, store: store)
        XCTAssertEqual(try scan.feed(try XCTUnwrap(QueueID("MODE0001"))).disposition, .notReady)
    }

    func firstRecord(of type: RecordType, in bytes: [UInt8]) -> Int? {
        var reader = RecordReader(bytes: bytes)
        while let r = try? reader.nextRaw() { if r.type == type { return r.offset } }
        return nil
    }
}
