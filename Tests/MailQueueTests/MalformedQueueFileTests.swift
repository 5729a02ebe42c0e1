// MalformedQueueFileTests - every way a queue file can be broken gives its
// exact error value (file, offset, problem) from the reader or the envelope
// pass, never a trap; and seeded random damage to valid files never traps.
import XCTest
import Foundation
import Glibc
import TestSupport
@testable import MailQueue

final class MalformedQueueFileTests: XCTestCase {
    /// The envelope pass over `bytes` must fail with exactly `expected`.
    func assertRejected(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Envelope.read(bytes: bytes, name: "q/F1"), file: file, line: line) {
            XCTAssertEqual("\($0)", expected, file: file, line: line)
        }
    }

    /// A valid file cut just before `cut` (the offset of a record), with `tail` appended.
    func sample(cutAt cut: KeyPath<Layout, Int>? = nil, tail: [UInt8] = []) -> ([UInt8], Layout) {
        let layout = Layout()
        var bytes = layout.bytes
        if let cut { bytes = Array(bytes[0..<layout[keyPath: cut]]) }
        return (bytes + tail, layout)
    }

    /// A file with every record's offset known.
    struct Layout {
        var bytes: [UInt8] = []
        var sender = 0, recipient = 0, message = 0, extracted = 0, end = 0
        init() {
            var b = QueueFileBuilder(arrivalSeconds: 1_700_000_000, arrivalMicroseconds: 5)
            sender = b.sender("s@example.com")
            recipient = b.recipient("r@example.com")
            message = b.writer.offset
            b.beginContent()
            b.contentLine(Array("Subject: x".utf8))
            b.endContent()
            end = b.writer.offset
            extracted = end - 2
            bytes = b.finish()
        }
    }

    func testFraming() {
        let (_, l) = sample()
        let s = UInt8(ascii: "S")
        assertRejected(sample(cutAt: \.sender, tail: [s]).0, "q/F1: offset \(l.sender): unexpected EOF reading length, record type 'S'")
        assertRejected(sample(cutAt: \.sender, tail: [s, 0x80]).0, "q/F1: offset \(l.sender): unexpected EOF reading length, record type 'S'")
        assertRejected(sample(cutAt: \.sender, tail: [s, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).0,
                       "q/F1: offset \(l.sender): too many length bits, record type 'S'")
        assertRejected(sample(cutAt: \.sender, tail: [s, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]).0,
                       "q/F1: offset \(l.sender): illegal length 4294967295, record type 'S'")
        assertRejected(sample(cutAt: \.sender, tail: [s, 0x10, 0x41, 0x42]).0,
                       "q/F1: offset \(l.sender): unexpected EOF in data, record type 'S' length 16")
        // A huge length in a tiny file is refused before anything is allocated.
        assertRejected(sample(cutAt: \.sender, tail: [s, 0xFF, 0xFF, 0xFF, 0xFF, 0x07]).0,
                       "q/F1: offset \(l.sender): unexpected EOF in data, record type 'S' length 2147483647")
        var reader = RecordReader(bytes: sample().0, name: "q/F1", maximumLength: 10)
        XCTAssertThrowsError(try { while try reader.nextRaw() != nil {} }()) {
            XCTAssertEqual("\($0)", "q/F1: offset 0: illegal length 95, record type 'C' (limit 10)")
        }
    }

    /// The same errors when the bytes come from a file through the pread window.
    func testFramingErrorsFromAFile() throws {
        let (_, l) = sample()
        let s = UInt8(ascii: "S")
        for (tail, problem) in [([s], "unexpected EOF reading length, record type 'S'"),
                                ([s, 0x10, 0x41], "unexpected EOF in data, record type 'S' length 16")] {
            let path = NSTemporaryDirectory() + "mq-cut-\(getpid())"
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(sample(cutAt: \.sender, tail: tail).0)))
            defer { unlink(path) }
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            var reader = RecordReader(try QueueFileBytes(descriptor: fd, name: "q/F1"))
            var envelope = Envelope()
            XCTAssertThrowsError(try envelope.load(from: &reader, recipientLimit: 10)) {
                XCTAssertEqual("\($0)", "q/F1: offset \(l.sender): \(problem)")
            }
        }
    }

    func testStructure() {
        let (_, l) = sample()
        assertRejected([], "q/F1: offset 0: message rejected: missing end record")
        assertRejected(sample(cutAt: \.end).0, "q/F1: offset \(l.end): message rejected: missing end record")
        assertRejected(sample(cutAt: \.sender, tail: Array("Z\u{1}x".utf8)).0, "q/F1: offset \(l.sender): Unexpected record type 'Z'")
        assertRejected(sample(cutAt: \.sender, tail: [0, 0]).0, "q/F1: offset \(l.sender): Unexpected record type 0")
        assertRejected(sample(cutAt: \.sender, tail: [0xE9, 0]).0, "q/F1: offset \(l.sender): Unexpected record type 233")
        // Content records are not allowed in the envelope.
        assertRejected(sample(cutAt: \.sender, tail: Array("N\u{1}x".utf8)).0, "q/F1: offset \(l.sender): Unexpected record type 'N'")
        // After the content, the next record must be X.
        var noX = l.bytes
        noX[l.extracted] = UInt8(ascii: "R")
        assertRejected(noX, "q/F1: offset \(l.extracted): Unexpected record type 'R'")
        assertRejected(sample(cutAt: \.sender, tail: Array("A\u{6}=value".utf8)).0,
                       "q/F1: offset \(l.sender): bad attribute record: missing attribute name: =value")
        assertRejected(sample(cutAt: \.sender, tail: Array("A\u{a}name value".utf8)).0,
                       "q/F1: offset \(l.sender): bad attribute record: missing '=' after attribute name: name value")
    }

    /// A file made of `records` after a SIZE record with `size` as its payload.
    func withSize(_ size: String, body: (inout RecordWriter) -> Void = { _ in }) -> [UInt8] {
        var w = RecordWriter()
        w.put(.size, size)
        w.putTime(seconds: 1, microseconds: 0)
        w.put(.from, "s")
        body(&w)
        w.put(.end, [])
        return w.bytes
    }

    func testSizeRecord() {
        let prefix = "q/F1: offset 0: "
        assertRejected(withSize("0 10 1"), prefix + "invalid size record: 0 10 1")
        assertRejected(withSize("10 0 1"), prefix + "invalid size record: 10 0 1")
        assertRejected(withSize("10 -5 1"), prefix + "invalid size record: 10 -5 1")
        assertRejected(withSize("10 20 1 0 -1"), prefix + "invalid size record: 10 20 1 0 -1")
        assertRejected(withSize("10 20 1 64"), prefix + "invalid flags in size record: 10 20 1 64")
        assertRejected(withSize("10 20"), prefix + "message rejected: weird size record: 10 20")
        assertRejected(withSize("x"), prefix + "message rejected: weird size record: x")
        assertRejected(withSize("123"), prefix + "size record of a pre-1.0 Postfix queue file is not supported: 123")
        assertRejected(withSize("99999999999999999999 20 1"), prefix + "invalid size record: 99999999999999999999 20 1")
        assertRejected(withSize("10 20 4294967296"), prefix + "invalid size record: 10 20 4294967296")
        // The content the SIZE record describes must be inside the file.
        var w = RecordWriter()
        w.putSize(SizeRecord(dataSize: 5000, dataOffset: 0))
        w.putTime(seconds: 1, microseconds: 0)
        w.put(.from, "s")
        w.put(.message, [])
        let dataOffset = w.offset
        w.put(.end, [])
        XCTAssertTrue(w.patch(at: 0, .size, SizeRecord(dataSize: 5000, dataOffset: dataOffset).payload))
        assertRejected(w.bytes, "q/F1: offset \(dataOffset): content (offset \(dataOffset), size 5000) "
                       + "extends beyond end of file (size \(dataOffset + 2))")
    }

    func testMissingRequiredRecords() {
        var noTime = RecordWriter()
        noTime.putSize(SizeRecord(dataSize: 1, dataOffset: 1))
        noTime.put(.from, "s")
        noTime.put(.end, [])
        assertRejected(noTime.bytes, "q/F1: message rejected: missing arrival time record")
        var noSender = RecordWriter()
        noSender.putSize(SizeRecord(dataSize: 1, dataOffset: 1))
        noSender.putTime(seconds: 1, microseconds: 0)
        noSender.put(.end, [])
        assertRejected(noSender.bytes, "q/F1: message rejected: missing sender record")
        var noSize = RecordWriter()
        noSize.putTime(seconds: 1, microseconds: 0)
        noSize.put(.from, "")
        noSize.put(.end, [])
        assertRejected(noSize.bytes, "q/F1: message rejected: missing size record")
        // "T 0 0" is no arrival time either.
        var zero = RecordWriter()
        zero.putSize(SizeRecord(dataSize: 1, dataOffset: 1))
        zero.put(.time, "0 0")
        zero.put(.from, "s")
        zero.put(.end, [])
        assertRejected(zero.bytes, "q/F1: message rejected: missing arrival time record")
    }

    func testPointers() {
        let (_, l) = sample()
        // To itself: a loop, found the second time the same pointer is followed.
        var w = RecordWriter()
        w.put(.size, "1 1 0")
        let p = w.putPointer(to: 0)
        XCTAssertTrue(w.patch(at: p, .pointer, FixedWidth.format(p)))
        assertRejected(w.bytes, "q/F1: offset \(p): pointer loop: offset \(p) reached again")
        assertRejected(sample(cutAt: \.sender, tail: Array("p\u{3}12x".utf8)).0,
                       "q/F1: offset \(l.sender): malformed pointer record value: 12x")
        assertRejected(sample(cutAt: \.sender, tail: Array("p\u{5}99999".utf8)).0,
                       "q/F1: offset \(l.sender): pointer to offset 99999 beyond end of file (size \(l.sender + 7))")
        // Dummies (0, empty, spaces) are no jumps.
        var d = QueueFileBuilder(arrivalSeconds: 1, arrivalMicroseconds: 0)
        d.sender("s")
        d.pointer(to: 0)
        d.record(.pointer, [])
        d.record(.pointer, Array("   ".utf8))
        d.padding(.pointer, recordSize: 3)
        d.recipient("r")
        d.beginContent()
        d.contentLine([0x78])
        let dummies = d.finish()
        XCTAssertNoThrow(try Envelope.read(bytes: dummies))
        var reader = RecordReader(bytes: dummies)
        var types = ""
        while let r = try? reader.next() { types.append(r.type.character) }
        XCTAssertEqual(types, "CTSRMNXE")
    }

    /// A chain of pointers each jumping back to the one before: stock allows
    /// 10000 reverse jumps in one file and refuses the 10001st.
    func testReverseJumpLimit() throws {
        func chain(reverseJumps: Int) -> (bytes: [UInt8], links: [Int]) {
            var w = RecordWriter()
            w.put(.size, "1 1 0")
            let entry = w.putPointer(to: 0)
            var links: [Int] = []
            for _ in 0...reverseJumps { links.append(w.putPointer(to: 0)) }
            let rest = w.putTime(seconds: 1, microseconds: 0)
            w.put(.from, "s")
            w.put(.end, [])
            _ = w.patch(at: entry, .pointer, FixedWidth.format(links.last!))
            for (i, link) in links.enumerated() {
                _ = w.patch(at: link, .pointer, FixedWidth.format(i == 0 ? rest : links[i - 1]))
            }
            return (w.bytes, links)
        }
        var ok = RecordReader(bytes: chain(reverseJumps: 10000).bytes)
        var last: Record?
        while let r = try ok.next() { last = r }
        XCTAssertEqual(last?.type, .end)
        let tooMany = chain(reverseJumps: 10001)
        var reader = RecordReader(bytes: tooMany.bytes, name: "q/F1")
        XCTAssertThrowsError(try { while try reader.next() != nil {} }()) {
            // The 10001st reverse jump is made by the second link.
            XCTAssertEqual("\($0)", "q/F1: offset \(tooMany.links[1]): too many reverse jump records (more than 10000)")
        }
    }

    /// Seeded random damage (byte flips, cuts, insertions) to valid files:
    /// every outcome is a result or a QueueFileError, for the reader and the
    /// envelope pass alike.
    func testRandomDamageNeverTraps() {
        var rng = SplitMix(seed: 0x5EED)
        let originals = [Layout().bytes, SampleFile().bytes, SampleFile(recipients: (0..<40).map { "x\($0)@e.com" }).bytes]
        var rejected = 0
        for i in 0..<4000 {
            var bytes = originals[i % originals.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 4 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes = Array(bytes[0..<at])
                case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                default: bytes[at] ^= 0x80
                }
                if bytes.isEmpty { break }
            }
            do {
                var envelope = Envelope()
                var reader = RecordReader(bytes: bytes, name: "fuzz")
                var batches = 0
                repeat {
                    _ = try envelope.load(from: &reader, recipientLimit: 3)
                    batches += 1
                } while envelope.refillOffset != nil && batches < 100
            } catch {
                rejected += 1
                XCTAssertEqual(error.file, "fuzz")
            }
            var raw = RecordReader(bytes: bytes)
            var n = 0
            while n < 100_000, (try? raw.next(skipPadding: true)) ?? nil != nil { n += 1 }
        }
        XCTAssertGreaterThan(rejected, 1000, "the damage should make most files unreadable")
    }
}
