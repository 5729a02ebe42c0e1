// QueueMovesTests - moves out of the active queue and start-up recovery on
// a scratch queue: deferral sets atime and mtime before the rename into the
// hashed deferred path (creating the subdirectory), corrupt files get
// stock's warning, removal logs "<id>: removed", dont_remove keeps files in
// saved/, vanished files are warnings, and recovery moves everything in
// active (subdirectories too) back to incoming with times set to now.
import XCTest
import Glibc
import MailQueue
@testable import QmgrQueue

final class QueueMovesTests: XCTestCase {
    func testDeferSetsTimesThenMovesToHashedPath() throws {
        let q = try ScratchQueue()
        let id = try q.put("9A1B2C3", in: .active)
        XCTAssertFalse(FileManager.default.fileExists(atPath: q.root + "/deferred/9"))
        let due = now() + 300
        XCTAssertTrue(try q.store.deferActive(id, retryTime: due).moved)
        let st = try XCTUnwrap(q.attributes(id, in: .deferred))
        XCTAssertEqual(Int(st.st_mtim.tv_sec), due)
        XCTAssertEqual(Int(st.st_atim.tv_sec), due)
        XCTAssertEqual(q.store.relativePath(of: id, in: .deferred), "deferred/9/9A1B2C3")
        XCTAssertEqual(try XCTUnwrap(fileAttributes(q.root + "/deferred/9")).st_mode & 0o777, 0o700)
        // Gone meanwhile: stock's warning, not an error.
        let gone = try q.store.deferActive(id, retryTime: due)
        XCTAssertEqual(gone, MoveResult(moved: false, logLine:
            "qmgr_active_defer: rename 9A1B2C3 from active to deferred: No such file or directory", isWarning: true))
    }

    func testCorruptRemoveAndHold() throws {
        let q = try ScratchQueue()
        let bad = try q.put("AB0001", in: .active)
        XCTAssertEqual(try q.store.saveCorrupt(bad), MoveResult(moved: true, logLine:
            "saving corrupt file \"AB0001\" from queue \"active\" to queue \"corrupt\"", isWarning: true))
        XCTAssertTrue(q.exists(bad, in: .corrupt))
        XCTAssertEqual(try q.store.saveCorrupt(bad), MoveResult(moved: false, logLine: nil, isWarning: false))
        let done = try q.put("AB0002", in: .active)
        XCTAssertEqual(try q.store.removeActive(done), MoveResult(moved: true, logLine: "AB0002: removed", isWarning: false))
        XCTAssertFalse(q.exists(done, in: .active))
        XCTAssertEqual(try q.store.removeActive(done).logLine,
                       "qmgr_active_done_3_generic: remove AB0002 from active: No such file or directory")
        let held = try q.put("AB0003", in: .active)
        XCTAssertTrue(try q.store.move(held, from: .active, to: .hold).moved)
        XCTAssertTrue(q.exists(held, in: .hold))
    }

    func testDontRemoveSavesCopies() throws {
        let q = try ScratchQueue()
        let keep = QueueStore(root: q.root, dontRemove: true)
        for _ in 0..<2 {
            let id = try q.put("AC0001", in: .active)
            XCTAssertTrue(try keep.removeActive(id).moved)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: q.root + "/saved").sorted(), ["AC0001", "AC0001+"])
    }

    func testRecoveryMovesActiveBackToIncoming() throws {
        let q = try ScratchQueue(hashing: try QueueHashing(hashQueueNames: "deferred, defer, active", depth: 2))
        let t = now()
        let ids = try ["1A0001", "2B0002", "3C0003"].map { try q.put($0, in: .active, mtime: t - 5000) }
        _ = FileManager.default.createFile(atPath: q.root + "/active/1/A/not-an-id", contents: nil)
        let report = try q.store.recoverActive(now: t)
        XCTAssertEqual(Set(report.moved), Set(ids))
        XCTAssertEqual(report.warnings, ["qmgr_move: ignored: queue active id not-an-id"])
        for id in ids {
            let st = try XCTUnwrap(q.attributes(id, in: .incoming), id.text)
            XCTAssertEqual(Int(st.st_mtim.tv_sec), t)
            XCTAssertFalse(q.exists(id, in: .active))
        }
    }
}
