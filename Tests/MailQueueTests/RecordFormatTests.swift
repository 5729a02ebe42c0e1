// RecordFormatTests - the record layer without an instance: length
// encoding, writer formats (SIZE, WARN, pointers, padding), raw and
// pointer-following reading, the builder's computed SIZE record, and
// in-place edits on a real file.
import XCTest
import Foundation
import Glibc
@testable import MailQueue

/// A small complete queue file made with the builder, and where its records are.
struct SampleFile {
    var bytes: [UInt8]
    var recipientOffsets: [Int] = []
    var warnOffset = 0

    init(recipients: [String] = ["r1@example.com", "r2@example.com"]) {
        var b = QueueFileBuilder(arrivalSeconds: 1_700_000_000, arrivalMicroseconds: 123_456)
        b.attribute("create_time", "1700000001")
        b.attribute("rewrite_context", "local")
        b.sender("s@example.com")
        warnOffset = b.warningTime(1_700_014_400)
        for (i, r) in recipients.enumerated() {
            recipientOffsets.append(b.recipient(ByteString(r), original: ByteString(r),
                                                dsnOriginalRecipient: i == 0 ? ByteString("rfc822;" + r) : .empty,
                                                dsnNotify: i == 0 ? 2 : 0))
        }
        b.beginContent()
        b.contentLine(Array("Subject: sample".utf8))
        b.contentLine([])
        b.contentLine(Array("body".utf8))
        b.endContent()
        bytes = b.finish()
    }
}

final class RecordFormatTests: XCTestCase {
    func testLengthEncoding() {
        func encoded(_ n: Int) -> [UInt8] { var out: [UInt8] = []; RecordLength.append(n, to: &out); return out }
        XCTAssertEqual(encoded(0), [0x00])
        XCTAssertEqual(encoded(95), [0x5F])
        XCTAssertEqual(encoded(127), [0x7F])
        XCTAssertEqual(encoded(128), [0x80, 0x01])
        XCTAssertEqual(encoded(200), [0xC8, 0x01])
        XCTAssertEqual(encoded(Int(Int32.max)), [0xFF, 0xFF, 0xFF, 0xFF, 0x07])
        for n in [0, 1, 127, 128, 16383, 16384, 2_097_151, 2_097_152, Int(Int32.max)] {
            XCTAssertEqual(RecordLength.decode(encoded(n)), .length(n, byteCount: encoded(n).count))
            XCTAssertEqual(RecordLength.encodedSize(n), encoded(n).count)
        }
        XCTAssertEqual(RecordLength.decode([UInt8]()), .needMoreBytes)
        XCTAssertEqual(RecordLength.decode([0x80, 0x80]), .needMoreBytes)
        XCTAssertEqual(RecordLength.decode([0xFF, 0xFF, 0xFF, 0xFF, 0x08]), .tooLarge)
        XCTAssertEqual(RecordLength.decode([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), .tooManyBytes)
        XCTAssertEqual(RecordLength.decode([0x80, 0x80, 0x80, 0x80, 0x80]), .tooManyBytes)
    }

    func testFixedWidthRecords() {
        var w = RecordWriter()
        w.putSize(SizeRecord(dataSize: 279, dataOffset: 553, recipientCount: 3, flags: 20, contentLength: 279))
        XCTAssertEqual(w.bytes.count, 97)
        XCTAssertEqual(String(decoding: w.bytes.dropFirst(2), as: UTF8.self),
                       "            279             553               3              20             279               0")
        var p = RecordWriter()
        p.putPointer(to: 0)
        XCTAssertEqual(p.bytes, [UInt8(ascii: "p"), 15] + Array("              0".utf8))
        var warn = RecordWriter()
        warn.putWarningTime(-1)
        XCTAssertEqual(warn.bytes, [UInt8(ascii: "W"), 15] + Array("             -1".utf8))
        var pad = RecordWriter()
        pad.putPadding(.pointer, recordSize: 3)
        pad.putPadding(.padding, recordSize: 6)
        pad.putPadding(.padding, recordSize: 0)
        XCTAssertEqual(pad.bytes, Array("p\u{1}0w\u{4}   0w\u{1}0".utf8))
        var t = RecordWriter()
        t.putTime(seconds: 1_795_311_410, microseconds: 934_214)
        XCTAssertEqual(t.bytes, [UInt8(ascii: "T"), 17] + Array("1795311410 934214".utf8))
    }

    func testBuilderComputesTheSizeRecord() throws {
        let file = SampleFile()
        let (envelope, batch) = try Envelope.read(bytes: file.bytes)
        let size = try XCTUnwrap(envelope.size)
        var reader = RecordReader(bytes: file.bytes)
        var records: [Record] = []
        while let r = try reader.nextRaw() { records.append(r) }
        let m = try XCTUnwrap(records.first { $0.type == .message })
        let x = try XCTUnwrap(records.first { $0.type == .extracted })
        XCTAssertEqual(size.dataOffset, m.offset + 2)
        XCTAssertEqual(size.dataSize, x.offset - size.dataOffset)
        XCTAssertEqual(size.contentLength, size.dataSize)
        XCTAssertEqual(size.recipientCount, 2)
        XCTAssertEqual(size.flags, 2 << 1)
        XCTAssertEqual(records.last?.type, .end)
        XCTAssertEqual(batch.recipients.map(\.offset), file.recipientOffsets)
        XCTAssertEqual(envelope.warningOffset, file.warnOffset)
        XCTAssertEqual(envelope.createTime, 1_700_000_001)
        XCTAssertEqual(envelope.arrivalMicroseconds, 123_456)
    }

    func testMixedRecipientHintWhenOtherRecordsFollowRecipients() throws {
        var b = QueueFileBuilder(arrivalSeconds: 1, arrivalMicroseconds: 0)
        b.recipient("a@example.com")
        b.sender("s@example.com")
        b.beginContent()
        b.contentLine(Array("x".utf8))
        let (envelope, _) = try Envelope.read(bytes: b.finish())
        XCTAssertEqual(envelope.size?.flags, SizeRecord.QueueFlags.mixedRecipientsAndOther)
    }

    func testPointersAreFollowedAndDummiesSkipped() throws {
        // S, p -> appended R after E, which points back to M.
        var w = RecordWriter()
        w.put(.from, "s")
        let jump = w.putPointer(to: 0)
        let resume = w.put(.message, [])
        w.put(.end, [])
        let appended = w.put(.recipient, "late@example.com")
        w.putPointer(to: resume)
        XCTAssertTrue(w.patch(at: jump, .pointer, FixedWidth.format(appended)))
        var reader = RecordReader(bytes: w.bytes)
        var seen: [String] = []
        while let r = try reader.next() {
            seen.append("\(r.type.character)@\(r.offset)")
            if r.type == .end { break }
        }
        XCTAssertEqual(seen, ["S@0", "R@\(appended)", "M@\(resume)", "E@\(resume + 2)"])
        // Reading on past E meets the appended records again, and their pointer a second time: a loop.
        XCTAssertEqual(try reader.next()?.offset, appended)
        XCTAssertThrowsError(try reader.next()) {
            XCTAssertEqual("\($0)", "(memory): offset \(appended + 18): pointer loop: offset \(resume) reached again")
        }
    }

    func testFileBackedReadingThroughASmallWindow() throws {
        let file = SampleFile(recipients: (0..<4000).map { "r\($0)@example.com" })
        XCTAssertGreaterThan(file.bytes.count, 2 * QueueFileBytes.windowSize)
        let path = NSTemporaryDirectory() + "mq-window-\(getpid())"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(file.bytes)))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var fromFile = RecordReader(try QueueFileBytes(descriptor: fd, name: path))
        var fromMemory = RecordReader(bytes: file.bytes, name: path)
        var count = 0
        while let a = try fromFile.nextRaw() {
            XCTAssertEqual(a, try fromMemory.nextRaw())
            count += 1
        }
        XCTAssertNil(try fromMemory.nextRaw())
        XCTAssertEqual(count, 8000 + 14)
    }
}

/// In-place edits on a real file, checked byte for byte.
final class QueueFileEditorTests: XCTestCase {
    var path = ""
    var fd: Int32 = -1

    override func setUpWithError() throws {
        path = NSTemporaryDirectory() + "mq-edit-\(getpid())-\(UUID().uuidString)"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(SampleFile().bytes)))
        fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
    }

    override func tearDown() {
        close(fd)
        unlink(path)
    }

    func contents() -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

    func testMarkDoneChangesOneByte() throws {
        let sample = SampleFile()
        let editor = QueueFileEditor(descriptor: fd, name: path)
        try editor.markDone(recipientAt: sample.recipientOffsets[1])
        var expected = sample.bytes
        expected[sample.recipientOffsets[1]] = UInt8(ascii: "D")
        XCTAssertEqual(contents(), expected)
        try editor.markDone(recipientAt: sample.recipientOffsets[1])   // already done: no change, no error
        XCTAssertEqual(contents(), expected)
        let (envelope, batch) = try Envelope.read(bytes: contents())
        XCTAssertEqual(batch.recipients.map(\.address), ["r1@example.com"])
        XCTAssertEqual(envelope.unreadRecipients, 0)
    }

    func testWrongOffsetsAreRefused() throws {
        let sample = SampleFile()
        let editor = QueueFileEditor(descriptor: fd, name: path)
        XCTAssertThrowsError(try editor.markDone(recipientAt: sample.warnOffset)) {
            XCTAssertEqual("\($0)", "\(path): offset \(sample.warnOffset): expected a record of type 'R' or 'D' here, found type 'W'")
        }
        XCTAssertThrowsError(try editor.markDone(recipientAt: sample.bytes.count)) {
            XCTAssertEqual("\($0)", "\(path): offset \(sample.bytes.count): expected a record of type 'R' or 'D' here, found the end of the file")
        }
        XCTAssertThrowsError(try editor.updateWarningTime(recordAt: sample.recipientOffsets[0], to: -1)) {
            XCTAssertEqual("\($0)", "\(path): offset \(sample.recipientOffsets[0]): expected a record of type 'W' here, found type 'R'")
        }
        XCTAssertThrowsError(try editor.updateWarningTime(recordAt: sample.warnOffset, to: 1_000_000_000_000_000)) {
            XCTAssertEqual("\($0)", "\(path): offset \(sample.warnOffset): value 1000000000000000 does not fit a 15-character field")
        }
        XCTAssertEqual(contents(), sample.bytes, "nothing written")
    }

    func testWarningTimeSizeAndKill() throws {
        let sample = SampleFile()
        let editor = QueueFileEditor(descriptor: fd, name: path)
        try editor.updateWarningTime(recordAt: sample.warnOffset, to: -1)
        var (envelope, _) = try Envelope.read(bytes: contents())
        XCTAssertEqual(envelope.warningTime, -1)
        var size = try XCTUnwrap(envelope.size)
        size.recipientCount = 7
        size.smtputf8 = 1
        try editor.updateSize(size)
        (envelope, _) = try Envelope.read(bytes: contents())
        XCTAssertEqual(envelope.size, size)
        XCTAssertEqual(contents().count, sample.bytes.count)
        try editor.kill(recordAt: sample.warnOffset)
        (envelope, _) = try Envelope.read(bytes: contents())
        XCTAssertNil(envelope.warningOffset)
    }
}
