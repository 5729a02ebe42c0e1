// QueueScanTests - scanning and feeding on a scratch queue directory:
// hashed subdirectories walked, names that are not queue IDs passed over,
// files still being written (0600) or marked corrupt (0400) left in place,
// deferred files kept until their mtime unless the pass ignores time
// stamps, group bits turned into message flags, and stock's request and
// restart semantics (a start request during a pass restarts it after it
// ends; scanAll and flushDeferredTransports also reach the running pass).
import XCTest
import Glibc
import MailQueue
@testable import QmgrQueue

final class QueueScanTests: XCTestCase {
    func testHashedWalkYieldsEveryQueueFileOnce() throws {
        let q = try ScratchQueue()
        let ids = ["E6612F785C9", "A1234B56", "0FFFF1", "B00001"]
        for id in ids { try q.put(id, in: .deferred) }
        // Not queue IDs: never returned.
        _ = FileManager.default.createFile(atPath: q.root + "/deferred/E/bad.name", contents: nil)
        let scan = QueueScan(queue: .deferred, store: q.store)
        XCTAssertFalse(scan.isRunning)
        XCTAssertNil(try scan.next(), "no pass before a start request")
        try scan.request(.start)
        XCTAssertTrue(scan.isRunning)
        let found = try ScratchQueue.drain(scan)
        XCTAssertEqual(Set(found.map(\.text)), Set(ids))
        XCTAssertEqual(found.count, ids.count)
        XCTAssertFalse(scan.isRunning)
    }

    func testFeedLeavesUncommittedCorruptAndFutureFiles() throws {
        let q = try ScratchQueue()
        let t = now()
        let ready = try q.put("A00001", in: .deferred, mtime: t - 10)
        let writing = try q.put("A00002", in: .deferred, mode: 0o600, mtime: t - 10)
        let marked = try q.put("A00003", in: .deferred, mode: 0o400, mtime: t - 10)
        let future = try q.put("A00004", in: .deferred, mtime: t + 300)
        let soon = try q.put("A00005", in: .deferred, mtime: t + 1)
        let scan = QueueScan(queue: .deferred, store: q.store)
        try scan.request(.start)
        var results: [String: FeedResult.Disposition] = [:]
        while let id = try scan.next() { results[id.text] = try scan.feed(id).disposition }
        XCTAssertEqual(results[ready.text], .moved(ActiveCandidate(id: ready, origin: .deferred, flags: [])))
        XCTAssertEqual(results[writing.text], .notReady)
        XCTAssertEqual(results[marked.text], .notReady)
        XCTAssertEqual(results[future.text], .notDue(until: t + 300))
        // Stock takes a file whose mtime is at most one second ahead.
        XCTAssertEqual(results[soon.text], .moved(ActiveCandidate(id: soon, origin: .deferred, flags: [])))
        XCTAssertTrue(q.exists(ready, in: .active))
        XCTAssertFalse(q.exists(ready, in: .deferred))
        for id in [writing, marked, future] { XCTAssertTrue(q.exists(id, in: .deferred), id.text) }
        // A pass that ignores time stamps takes the future file too.
        try scan.request([.start, .scanAll])
        var moved: [QueueID] = []
        while let id = try scan.next() {
            if case .moved = try scan.feed(id).disposition { moved.append(id) }
        }
        XCTAssertEqual(moved, [future])
    }

    func testModeBitsBecomeMessageFlags() throws {
        let q = try ScratchQueue()
        let flushed = try q.put("B00001", in: .incoming, mode: 0o740)
        let expired = try q.put("B00002", in: .incoming, mode: 0o710)
        let scan = QueueScan(queue: .incoming, store: q.store)
        try scan.request([.start, .flushDeferredTransports])
        var got: [QueueID: ActiveCandidate] = [:]
        while let id = try scan.next() {
            if case .moved(let c) = try scan.feed(id).disposition { got[id] = c }
        }
        XCTAssertEqual(got[flushed]?.flags, [.flushDeferredTransports, .flushEach])
        XCTAssertEqual(got[flushed]?.modeAfterLoad, 0o700)
        XCTAssertEqual(got[expired]?.flags, [.flushDeferredTransports, .forceExpire])
        XCTAssertNil(got[expired]?.modeAfterLoad)
    }

    func testVanishedFileIsNotAnError() throws {
        let q = try ScratchQueue()
        let id = try q.put("C00001", in: .incoming)
        let scan = QueueScan(queue: .incoming, store: q.store)
        try scan.request(.start)
        XCTAssertEqual(try scan.next(), id)
        XCTAssertEqual(unlink(q.store.path(of: id, in: .incoming)), 0)
        XCTAssertEqual(try scan.feed(id).disposition, .gone)
    }

    func testStartDuringPassRestartsAfterIt() throws {
        let q = try ScratchQueue()
        let t = now()
        let a = try q.put("D00001", in: .incoming, mtime: t + 600)
        try q.put("D00002", in: .incoming, mtime: t + 600)
        let scan = QueueScan(queue: .incoming, store: q.store)
        try scan.request(.start)
        let first = try XCTUnwrap(try scan.next())
        // A new start request while the pass runs: it waits for the pass to end.
        XCTAssertFalse(try scan.request(.start))
        XCTAssertEqual(scan.pendingFlags, [.start])
        let second = try XCTUnwrap(try scan.next())
        XCTAssertNotEqual(first, second)
        // End of the pass: the pending request restarts it at once.
        let again = try XCTUnwrap(try scan.next())
        XCTAssertTrue([first, second].contains(again))
        XCTAssertEqual(scan.pendingFlags, [])
        XCTAssertTrue(scan.isRunning)
        // scanAll reaches the running pass; flushOnce is reported to the caller.
        XCTAssertTrue(try scan.request([.scanAll, .flushOnce, .flushDeferredTransports]))
        XCTAssertEqual(scan.flags, [.scanAll, .flushDeferredTransports])
        if case .moved = try scan.feed(again).disposition {} else { XCTFail("scanAll applies to the running pass") }
        _ = a
        // Flags without start wait for the next started pass.
        _ = try ScratchQueue.drain(scan)
        XCTAssertFalse(scan.isRunning)
        XCTAssertEqual(scan.pendingFlags, [.scanAll, .flushOnce, .flushDeferredTransports])
        XCTAssertNil(try scan.next())
        try scan.request(.start)
        XCTAssertEqual(scan.flags, [.scanAll, .flushOnce, .flushDeferredTransports])
    }

    func testTriggerBytesFoldIntoScanRequests() {
        let fadi = TriggerRequest(Array("FADI".utf8) + [0])
        XCTAssertEqual(fadi.incoming, [.start, .scanAll, .flushOnce, .flushDeferredTransports])
        XCTAssertEqual(fadi.deferred, [.start, .scanAll, .flushOnce, .flushDeferredTransports])
        XCTAssertEqual(fadi.ignored, [0])
        let w = TriggerRequest(Array("WWWx".utf8))
        XCTAssertEqual(w.incoming, [.start])
        XCTAssertEqual(w.deferred, [])
        XCTAssertEqual(w.ignored, [UInt8(ascii: "x")])
        XCTAssertEqual(TriggerRequest(Array("D".utf8)).deferred, [.start])
        XCTAssertEqual(TriggerRequest(Array("F".utf8)).incoming, [.flushOnce, .flushDeferredTransports])
    }
}
