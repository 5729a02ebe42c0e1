// DeferredIndexTests - the deferred scan with its index: the first pass
// stats every file; later passes with nothing due skip every unchanged
// directory; a directory that changed is read again but its known files are
// not stat'ed; a file the queue manager deferred is known without a stat; a
// flush request and the revalidation interval forget everything; a due
// file is found; the capacity bound makes directories fall back to stock's
// per-file stat without losing files.
import XCTest
import Glibc
import MailQueue
@testable import QmgrQueue

final class DeferredIndexTests: XCTestCase {
    /// 64 files spread over the hashed subdirectories, due in an hour.
    func populate(_ q: ScratchQueue, due: Int, count: Int = 64) throws -> [QueueID] {
        try (0..<count).map { i in
            try q.put(String(format: "%05X%X", (i * 0x4321) & 0xFFFFF, 0x100 + i), in: .deferred, mtime: due)
        }
    }

    func pass(_ scan: QueueScan) throws -> [QueueID: FeedResult.Disposition] {
        try scan.request(.start)
        var seen: [QueueID: FeedResult.Disposition] = [:]
        while let id = try scan.next() { seen[id] = try scan.feed(id).disposition }
        return seen
    }

    func testUnchangedDirectoriesAreSkipped() throws {
        let q = try ScratchQueue()
        let t = now()
        let ids = try populate(q, due: t + 3600)
        let directories = Set(ids.map { q.store.directory(of: $0, in: .deferred) })
        // The scan's clock runs ahead so that the directories just made count as settled.
        let index = DeferredIndex()
        let scan = QueueScan(queue: .deferred, store: q.store, index: index, clock: { t + 10 })
        let first = try pass(scan)
        XCTAssertEqual(first.count, ids.count, "the first pass looks at every file")
        XCTAssertTrue(first.values.allSatisfy { $0 == .notDue(until: t + 3600) })
        XCTAssertEqual(index.count, ids.count)
        XCTAssertEqual(try pass(scan).count, 0, "nothing due: no name returned, no file stat'ed")
        XCTAssertEqual(index.directoriesSkipped, directories.count)
        XCTAssertEqual(index.filesNotStatted, ids.count)

        // A new file in one directory: that directory is read again, only the new file is looked at.
        let newcomer = try q.put("E0000F1", in: .deferred, mtime: t + 3600)
        XCTAssertEqual(Array(try pass(scan).keys), [newcomer])
        XCTAssertEqual(index.count, ids.count + 1)
    }

    func testDeferredByTheQueueManagerIsKnownWithoutStat() throws {
        let q = try ScratchQueue()
        let t = now()
        _ = try populate(q, due: t + 3600, count: 16)
        let index = DeferredIndex()
        let scan = QueueScan(queue: .deferred, store: q.store, index: index, clock: { t + 10 })
        _ = try pass(scan)
        let id = try q.put("F00001", in: .active)
        XCTAssertEqual(try q.store.deferActive(id, retryTime: t + 7200), MoveResult(moved: true, logLine: nil, isWarning: false))
        scan.learnDeferred(id, due: t + 7200)
        XCTAssertEqual(try pass(scan).count, 0, "the new file's time is known: no stat, not returned")
    }

    func testDueFilesAreFoundAndFlushForgets() throws {
        let q = try ScratchQueue()
        let t = now()
        let ids = try populate(q, due: t + 3600, count: 32)
        var clock = t + 10
        let index = DeferredIndex()
        let scan = QueueScan(queue: .deferred, store: q.store, index: index, clock: { clock })
        _ = try pass(scan)
        // Time passes: everything is due and moves to active.
        clock = t + 3600
        let due = try pass(scan)
        XCTAssertEqual(Set(due.keys), Set(ids))
        XCTAssertTrue(due.values.allSatisfy { if case .moved = $0 { return true } else { return false } })
        XCTAssertEqual(index.count, 0)

        // A time changed behind the index's back (touch) is seen after a flush request.
        let touched = try q.put("F0A001", in: .deferred, mtime: t + 9000)
        clock = t + 3620
        XCTAssertEqual(try pass(scan)[touched], .notDue(until: t + 9000))
        XCTAssertEqual(try pass(scan).count, 0)
        try q.store.setTimes(touched, in: .deferred, to: t)
        XCTAssertEqual(try pass(scan).count, 0, "unseen until revalidation or flush")
        XCTAssertTrue(try scan.request(.flushOnce))
        XCTAssertEqual(index.count, 0)
        if case .moved = try pass(scan)[touched] {} else { XCTFail("found after the flush request") }
    }

    func testRevalidationIntervalForgets() throws {
        let q = try ScratchQueue()
        let t = now()
        let id = try q.put("F0B001", in: .deferred, mtime: t + 9000)
        var clock = t + 10
        let index = DeferredIndex(settings: .init(revalidationInterval: 600))
        let scan = QueueScan(queue: .deferred, store: q.store, index: index, clock: { clock })
        _ = try pass(scan)
        try q.store.setTimes(id, in: .deferred, to: t)
        clock = t + 500
        XCTAssertEqual(try pass(scan).count, 0)
        clock = t + 620
        if case .moved = try pass(scan)[id] {} else { XCTFail("revalidated after the interval") }
    }

    func testCapacityBoundFallsBackToStat() throws {
        let q = try ScratchQueue()
        let t = now()
        let ids = try populate(q, due: t + 3600, count: 40)
        let index = DeferredIndex(settings: .init(capacity: 10))
        let scan = QueueScan(queue: .deferred, store: q.store, index: index, clock: { t + 10 })
        XCTAssertEqual(try pass(scan).count, ids.count)
        XCTAssertLessThanOrEqual(index.count, 10)
        // Files not remembered are looked at each time, as stock does; nothing is lost.
        let second = try pass(scan)
        XCTAssertGreaterThanOrEqual(second.count, ids.count - 10)
        XCTAssertTrue(second.values.allSatisfy { $0 == .notDue(until: t + 3600) })
        let soon = ids[0]
        try q.store.setTimes(soon, in: .deferred, to: t)
        // Due files are found whether remembered or not, once the index is flushed or not remembered.
        try scan.request(.flushOnce)
        if case .moved = try pass(scan)[soon] {} else { XCTFail("due file found") }
    }
}
