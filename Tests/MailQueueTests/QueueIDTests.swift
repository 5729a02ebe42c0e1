// QueueIDTests - queue IDs and hashed paths: unit cases from the reference's
// verified examples, then IDs and paths of files a stock Postfix made, in
// both forms, with the hashing settings changed.
import XCTest
import Foundation
import Glibc
import TestSupport
@testable import MailQueue

final class QueueIDTests: XCTestCase {
    func testShortIDFromMicrosecondsAndInode() {
        // Verified on stock: usec 0xE6612 + inode 0xF785C9.
        let id = QueueID.short(microseconds: 0xE6612, inode: 0xF785C9)
        XCTAssertEqual(id.text, "E6612F785C9")
        XCTAssertFalse(id.isLongForm)
        XCTAssertEqual(id.inode, 0xF785C9)
        XCTAssertEqual(id.hashKey, "E6612F785C9")
        XCTAssertEqual(QueueID.short(microseconds: 5, inode: 0xABC).text, "00005ABC")
    }

    func testLongIDEncodesSecondsMicrosecondsAndInode() {
        // Alphabet without vowels; seconds padded to 6, microseconds exactly 4, inode base 51.
        let id = QueueID.long(seconds: 1_796_033_351, microseconds: 443_348, inode: 16_240_193)
        XCTAssertEqual(id.text, "4jdKVv37xwz2NPp8")
        XCTAssertTrue(id.isLongForm)
        XCTAssertEqual(id.inode, 16_240_193)
        XCTAssertEqual(id.hashKey, "6C3D4")   // 443348 = 0x6C3D4
        XCTAssertEqual(QueueID.long(seconds: 1, microseconds: 0, inode: 1).text, "0000010000z1")
        // The inode part never contains the separator, even at the top of base 51.
        XCTAssertFalse(QueueID.long(seconds: 0, microseconds: 0, inode: UInt64.max).text.dropFirst(11).contains("z"))
    }

    func testValidation() {
        for good in ["E6612F785C9", "4jdKVv37xwz2NPp8", "a", "example_com", String(repeating: "A", count: 255)] {
            XCTAssertNotNil(QueueID(good), good)
        }
        for bad in ["", "E6612F785C9#FIX", "../x", "a.b", "a b", "é", String(repeating: "A", count: 256)] {
            XCTAssertNil(QueueID(bad), bad)
        }
        XCTAssertNotNil(QueueName("deferred"))
        for bad in ["", "a/b", "x_y", String(repeating: "q", count: 101)] { XCTAssertNil(QueueName(bad), bad) }
    }

    func testLongFormNeedsTheSeparatorAtIndexTenOrLater() throws {
        // "z" at index 9: short form, hashed by its first character.
        let early = try XCTUnwrap(QueueID("123456789zAB"))
        XCTAssertFalse(early.isLongForm)
        XCTAssertEqual(early.hashKey, "123456789zAB")
        let long = try XCTUnwrap(QueueID("1234560000zAB"))
        XCTAssertTrue(long.isLongForm)
        XCTAssertEqual(long.hashKey, "00000")
        // A microsecond field that does not decode (vowels) counts as 0, as stock.
        XCTAssertEqual(QueueID("123456AEIOzB")?.hashKey, "00000")
        // Four "z" digits are the largest field: 52^4 - 1 = 0x6F90FF (six hex digits).
        XCTAssertEqual(QueueID("000000zzzzz1")?.hashKey, "6F90FF")
    }

    func testHashedPaths() throws {
        let h = QueueHashing.stockDefault
        let id = try XCTUnwrap(QueueID("E6612F785C9"))
        XCTAssertEqual(h.path(of: id, in: .deferred), "deferred/E/E6612F785C9")
        XCTAssertEqual(h.path(of: id, in: .defer), "defer/E/E6612F785C9")
        XCTAssertEqual(h.path(of: id, in: .active), "active/E6612F785C9")
        let deep = try QueueHashing(hashQueueNames: " Incoming,\tDEFERRED  hold", depth: 3)
        XCTAssertEqual(deep.hashedQueues, ["Incoming", "DEFERRED", "hold"])
        XCTAssertEqual(deep.path(of: id, in: .incoming), "incoming/E/6/6/E6612F785C9")
        XCTAssertEqual(deep.directory(of: id, in: .hold), "hold/E/6/6/")
        XCTAssertEqual(deep.path(of: id, in: .active), "active/E6612F785C9")
        // Keys shorter than the depth are filled with "_".
        let six = try QueueHashing(hashQueueNames: "flush", depth: 6)
        XCTAssertEqual(six.path(of: try XCTUnwrap(QueueID("ab")), in: .flush), "flush/a/b/_/_/_/_/ab")
        XCTAssertEqual(six.path(of: try XCTUnwrap(QueueID("4jdKVv37xwz2NPp8")), in: .flush), "flush/6/C/3/D/4/_/4jdKVv37xwz2NPp8")
        XCTAssertThrowsError(try QueueHashing(hashQueueNames: "deferred", depth: 0)) {
            XCTAssertEqual("\($0)", "invalid hash_queue_depth: 0 (must be at least 1)")
        }
    }
}

/// IDs and paths of queue files made by a stock Postfix.
final class StockQueueIDTests: XCTestCase {
    /// Checks every committed file of `stock`: its path is the one we
    /// compute, its ID decodes to its inode, and it has the expected form.
    private func checkFiles(of stock: StockQueueInstance, hashing: QueueHashing, long: Bool,
                            expectedCount: Int) throws {
        let files = stock.committedFiles().sorted()
        XCTAssertEqual(files.count, expectedCount, "\(files)")
        for path in files {
            let name = (path as NSString).lastPathComponent
            let id = try XCTUnwrap(QueueID(name), "stock file name \(name) fails our validation")
            XCTAssertEqual(id.isLongForm, long, name)
            XCTAssertEqual(hashing.path(of: id, in: .incoming), path)
            var st = stat()
            XCTAssertEqual(stat(stock.queue + "/" + path, &st), 0)
            XCTAssertEqual(id.inode, UInt64(st.st_ino), "\(name): inode")
            if long {
                // The seconds field is the creation time (the file's mtime, within a second or two).
                let text = Array(name.utf8)
                let z = try XCTUnwrap(text.lastIndex(of: UInt8(ascii: "z")))
                let created = try XCTUnwrap(QueueID.decodeSafe(text[0..<(z - 4)], base: 52))
                XCTAssertLessThanOrEqual(abs(Int(created) - Int(st.st_mtim.tv_sec)), 2, "\(name): seconds field")
                XCTAssertEqual(QueueID.long(seconds: Int(created), microseconds: Int(QueueID.decodeSafe(text[(z - 4)..<z], base: 52)!),
                                            inode: UInt64(st.st_ino)), id)
            }
        }
    }

    func testShortIDsOfStockFilesAndPostsuperRelocation() throws {
        let stock = try StockQueueInstance(parameters: [:])
        defer { stock.destroy() }
        for i in 0..<3 {
            _ = try stock.sendmail(["-f", "s@test.example", "r\(i)@remote.example"], message: "Subject: \(i)\n\nbody\n")
        }
        try checkFiles(of: stock, hashing: .stockDefault, long: false, expectedCount: 3)
        // Hash incoming two levels deep; stock's postsuper moves the files where we say they belong.
        try stock.postconf(["hash_queue_names": "incoming, deferred, defer", "hash_queue_depth": "2"])
        let r = try runCommand("/usr/sbin/postsuper", ["-c", stock.etc, "-s"])
        XCTAssertEqual(r.status, 0, r.output)
        try checkFiles(of: stock, hashing: try QueueHashing(hashQueueNames: "incoming, deferred, defer", depth: 2),
                       long: false, expectedCount: 3)
    }

    func testLongIDsOfStockFilesInHashedIncoming() throws {
        let names = "deferred, INCOMING, defer"
        let stock = try StockQueueInstance(parameters: ["enable_long_queue_ids": "yes",
                                                        "hash_queue_names": names, "hash_queue_depth": "3"])
        defer { stock.destroy() }
        for i in 0..<3 {
            _ = try stock.sendmail(["-f", "s@test.example", "r\(i)@remote.example"], message: "Subject: \(i)\n\nbody\n")
        }
        try checkFiles(of: stock, hashing: try QueueHashing(hashQueueNames: names, depth: 3), long: true, expectedCount: 3)
    }
}
