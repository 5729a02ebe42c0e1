// StockQueueFileTests - queue files written by a verified stock cleanup(8),
// read by our reader and envelope pass with every field checked against
// what was submitted and against stock postcat's own decoding; then the
// same files rebuilt with our QueueFileBuilder from the values we read,
// which must be byte-identical and which stock postcat must print exactly
// as it prints stock's file.
import XCTest
import Foundation
import Glibc
import TestSupport
@testable import MailQueue

final class StockQueueFileTests: XCTestCase {
    /// One instance for the class: no queue manager, a delay warning time
    /// (W records) and an unreachable non-SMTP milter with "accept", which
    /// makes cleanup leave its dummy pointer records in sendmail mail.
    static let shared = SharedStockInstance {
        try StockQueueInstance(parameters: [
            "delay_warning_time": "4h",
            "non_smtpd_milters": "inet:127.0.0.1:9",
            "milter_default_action": "accept",
        ])
    }

    var stock: StockQueueInstance { get throws { try Self.shared.get() } }

    override class func tearDown() {
        shared.destroy()
        super.tearDown()
    }

    // MARK: messages

    func testSendmailWithDSNOptions() throws {
        let stock = try self.stock
        let path = try stock.sendmail(["-f", "sender@test.example", "-N", "success,delay", "-R", "hdrs", "-V", "envid123",
                                       "user1@remote.example", "user2@remote.example"],
                                      message: "Subject: dsn\n\nhello\n")
        let (envelope, batch) = try checkAgainstPostcat(stock, path)
        XCTAssertEqual(envelope.sender, "sender@test.example")
        XCTAssertEqual(envelope.envelopeID, "envid123")
        XCTAssertEqual(envelope.dsnRet, 2)
        XCTAssertEqual(envelope.rewriteContext, "local")
        XCTAssertEqual(envelope.size?.recipientCount, 2)
        XCTAssertEqual(envelope.size?.flags, (2 | 8) << 1)
        XCTAssertEqual(envelope.warningTime, envelope.arrivalSeconds + 4 * 3600)
        XCTAssertEqual(batch.recipients.map(\.address), ["user1@remote.example", "user2@remote.example"])
        XCTAssertEqual(batch.recipients.map(\.originalRecipient), ["user1@remote.example", "user2@remote.example"])
        XCTAssertEqual(batch.recipients.map(\.dsnOriginalRecipient),
                       ["rfc822;user1@remote.example", "rfc822;user2@remote.example"])
        XCTAssertEqual(batch.recipients.map(\.dsnNotify), [10, 10])
        XCTAssertEqual(batch.warnings, [])
        XCTAssertEqual(envelope.unreadRecipients, 0)
        XCTAssertNil(envelope.refillOffset)
        XCTAssertTrue(envelope.seenAllNonRecipientRecords)
    }

    func testExtractedRecipientsOfSendmailT() throws {
        let stock = try self.stock
        let path = try stock.sendmail(["-t", "-f", "s@test.example"],
                                      message: "To: a@remote.example\nCc: b@remote.example, c@remote.example\nSubject: t\n\nbody\n")
        let (envelope, batch) = try checkAgainstPostcat(stock, path)
        XCTAssertEqual(batch.recipients.map(\.address), ["a@remote.example", "b@remote.example", "c@remote.example"])
        // Every recipient comes after the content.
        XCTAssertTrue(batch.recipients.allSatisfy { $0.offset > envelope.dataOffset + envelope.dataSize })
        XCTAssertEqual(envelope.size?.recipientCount, 3)
    }

    func testLongLinesAndEightBitContent() throws {
        let stock = try self.stock
        let body = String(repeating: "café ", count: 700)
        let path = try stock.sendmail(["-f", "s@test.example", "r@remote.example"],
                                      message: "Subject: long\nX-Long: \(String(repeating: "h", count: 3000))\n\n\(body)\nend\n")
        let (envelope, _) = try checkAgainstPostcat(stock, path)
        // The content, read through our reader, is the message cleanup stored (headers it added, then ours).
        let lines = try contentLines(stock, path, envelope)
        XCTAssertTrue(lines.contains("X-Long: " + String(repeating: "h", count: 3000)))
        XCTAssertTrue(lines.contains(body))
        XCTAssertEqual(lines.last, "end")
        XCTAssertEqual(envelope.contentLength, envelope.dataSize)
    }

    func testNullSenderAndVERP() throws {
        let stock = try self.stock
        let bounce = try stock.sendmail(["-f", "<>", "r@remote.example"], message: "Subject: null\n\nx\n")
        let (nullSender, _) = try checkAgainstPostcat(stock, bounce)
        XCTAssertEqual(nullSender.sender, "")
        XCTAssertNil(nullSender.warningOffset, "no W record for the null sender")
        let verp = try stock.sendmail(["-XV", "-f", "list@test.example", "r@remote.example"], message: "Subject: verp\n\nx\n")
        let (envelope, _) = try checkAgainstPostcat(stock, verp)
        XCTAssertEqual(envelope.verpDelimiters, "+=")
    }

    func testTraceFlagsOfSendmailV() throws {
        let stock = try self.stock
        let path = try stock.sendmail(["-v", "-f", "s@test.example", "r@remote.example"], message: "Subject: v\n\nx\n")
        let (envelope, _) = try checkAgainstPostcat(stock, path)
        XCTAssertEqual(envelope.traceFlags, Envelope.traceFlagRecord)
        let records = try allRecords(try stock.bytes(of: path))
        let attribute = try XCTUnwrap(records.first { $0.type == .attribute && $0.text.description.hasPrefix("trace_flags=") })
        XCTAssertEqual(envelope.traceFlagsOffset, attribute.offset)
    }

    func testSMTPWithDSNAndClientAttributes() throws {
        let stock = try self.stock
        let path = try stock.smtp(["MAIL FROM:<smtp-sender@test.example> RET=FULL ENVID=smtp-env BODY=8BITMIME",
                                   "RCPT TO:<x@remote.example> NOTIFY=FAILURE ORCPT=rfc822;orig-x@remote.example",
                                   "RCPT TO:<y@remote.example> NOTIFY=NEVER"],
                                  message: "Subject: smtp\n\nbody\n")
        let (envelope, batch) = try checkAgainstPostcat(stock, path)
        XCTAssertEqual(envelope.sender, "smtp-sender@test.example")
        XCTAssertEqual(envelope.dsnRet, 1)
        XCTAssertEqual(envelope.envelopeID, "smtp-env")
        // 127.0.0.1 is in local_header_rewrite_clients (permit_inet_interfaces).
        XCTAssertEqual(envelope.rewriteContext, "local")
        XCTAssertEqual(envelope.clientAddress, "127.0.0.1")
        XCTAssertEqual(envelope.clientHelo, "client.test.example")
        XCTAssertEqual(envelope.clientProtocol, "ESMTP")
        XCTAssertFalse(envelope.clientPort.isEmpty)
        XCTAssertEqual(envelope.encoding, "8bit")
        XCTAssertEqual(batch.recipients.map(\.address), ["x@remote.example", "y@remote.example"])
        XCTAssertEqual(batch.recipients.map(\.dsnNotify), [4, 1])
        XCTAssertEqual(batch.recipients.map(\.dsnOriginalRecipient), ["rfc822;orig-x@remote.example", "rfc822;y@remote.example"])
        XCTAssertEqual(envelope.size?.flags, (4 | 1) << 1)
    }

    /// Many recipients read in batches of 7, as a queue manager refills: the
    /// same recipients, in order, and the same envelope, as one big batch.
    func testRecipientBatchesAndRefill() throws {
        let stock = try self.stock
        let recipients = (0..<25).map { "rcpt\($0)@remote.example" }
        let path = try stock.sendmail(["-f", "s@test.example"] + recipients, message: "Subject: many\n\nx\n")
        let (whole, all) = try checkAgainstPostcat(stock, path)
        XCTAssertEqual(all.recipients.map(\.address.description), recipients)

        var reader = RecordReader(QueueFileBytes(bytes: try stock.bytes(of: path), name: path))
        var envelope = Envelope()
        var batches: [[QueuedRecipient]] = []
        repeat {
            let batch = try envelope.load(from: &reader, recipientLimit: 7)
            XCTAssertEqual(batch.warnings, [])
            batches.append(batch.recipients)
        } while envelope.refillOffset != nil && batches.count < 10
        XCTAssertEqual(batches.map(\.count), [7, 7, 7, 4])
        XCTAssertEqual(batches.flatMap { $0 }, all.recipients)
        XCTAssertEqual(envelope.sender, whole.sender)
        XCTAssertEqual(envelope.size, whole.size)
        XCTAssertEqual(envelope.unreadRecipients, 0)
    }

    /// postsuper -h moves the file to hold/ and changes nothing in it.
    func testPostsuperHoldKeepsTheFile() throws {
        let stock = try self.stock
        let path = try stock.sendmail(["-f", "s@test.example", "held@remote.example"], message: "Subject: hold\n\nx\n")
        let before = try stock.bytes(of: path)
        let id = try XCTUnwrap(QueueID((path as NSString).lastPathComponent))
        let r = try runCommand("/usr/sbin/postsuper", ["-c", stock.etc, "-h", id.text])
        XCTAssertEqual(r.status, 0, r.output)
        let held = QueueHashing.stockDefault.path(of: id, in: .hold)
        XCTAssertEqual(try stock.bytes(of: held), before)
        _ = try checkAgainstPostcat(stock, held)
    }

    /// Our in-place edits on a copy of a stock file, as stock postcat sees them.
    func testDoneMarkingAndWarningUpdateOnAStockFile() throws {
        let stock = try self.stock
        let path = try stock.sendmail(["-f", "s@test.example", "d1@remote.example", "d2@remote.example"],
                                      message: "Subject: edit\n\nx\n")
        let original = try stock.bytes(of: path)
        let (before, batch) = try Envelope.read(bytes: original)
        let copy = stock.queue + "/edit-" + (path as NSString).lastPathComponent
        XCTAssertTrue(FileManager.default.createFile(atPath: copy, contents: Data(original)))
        defer { unlink(copy) }
        let fd = open(copy, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let editor = QueueFileEditor(descriptor: fd, name: copy)
        try editor.markDone(recipientAt: batch.recipients[0].offset)
        try editor.updateWarningTime(recordAt: try XCTUnwrap(before.warningOffset), to: -1)
        let listing = String(decoding: try stock.postcatBytes(copy, ["-v", "-o"]), as: UTF8.self)
        XCTAssertTrue(listing.contains("\(batch.recipients[0].offset) done_recipient: d1@remote.example"), listing)
        XCTAssertTrue(listing.contains("\(batch.recipients[1].offset) recipient: d2@remote.example"), listing)
        XCTAssertTrue(listing.contains("\(before.warningOffset!) warning_message_time: \(PostcatListing.printed(-1))"),
                      listing)
        let edited = [UInt8](FileManager.default.contents(atPath: copy) ?? Data())
        var expected = original
        expected[batch.recipients[0].offset] = UInt8(ascii: "D")
        expected.replaceSubrange((before.warningOffset! + 2)..<(before.warningOffset! + 17), with: Array("             -1".utf8))
        XCTAssertEqual(edited, expected, "one type byte and one fixed-width field changed")
        let (after, rest) = try Envelope.read(bytes: edited)
        XCTAssertEqual(rest.recipients.map(\.address), ["d2@remote.example"])
        XCTAssertEqual(after.warningTime, -1)
        XCTAssertEqual(rest.warnings, [])
    }

    /// A milter (ours, minimal) adds a header and a recipient at the end of
    /// the message: stock cleanup appends them after E and links them in with
    /// real pointer records. Our reader follows them as stock's does.
    func testMilterEditsLinkedInWithPointerRecords() throws {
        let stock = try self.stock
        let socket = stock.instance.dir + "/milter.sock"
        let milter = try ScriptedPeer(path: socket) { fd in MinimalMilter.serve(fd) }
        defer { milter.stop() }
        try stock.reconfigure(["non_smtpd_milters": "unix:" + socket])
        defer { XCTAssertNoThrow(try stock.reconfigure(["non_smtpd_milters": "inet:127.0.0.1:9"])) }
        let path = try stock.sendmail(["-f", "s@test.example", "first@remote.example"], message: "Subject: milter\n\nbody\n")
        let (envelope, batch) = try checkAgainstPostcat(stock, path, rebuild: false)
        XCTAssertEqual(batch.recipients.map(\.address), ["first@remote.example", "added@remote.example"])
        XCTAssertEqual(batch.warnings, [])
        guard batch.recipients.count == 2 else { return }
        let records = try allRecords(try stock.bytes(of: path))
        let end = try XCTUnwrap(records.first { $0.type == .end }).offset
        XCTAssertGreaterThan(batch.recipients[1].offset, end, "the added recipient lives after E")
        XCTAssertTrue(records.contains { $0.type == .pointer && RecordReader.pointerTarget($0.payload) ?? 0 > end },
                      "a pointer leads to the appended records")
        let lines = try contentLines(stock, path, envelope)
        XCTAssertTrue(lines.contains("X-Milter: added"), "\(lines)")
        XCTAssertEqual(lines.last, "body")
    }

    // MARK: checks

    /// Reads the file with our reader and envelope pass, compares every
    /// record with `postcat -v -o -d -r`, rebuilds the file with our builder
    /// and compares bytes and postcat output.
    @discardableResult
    func checkAgainstPostcat(_ stock: StockQueueInstance, _ path: String, rebuild: Bool = true,
                             file: StaticString = #filePath, line: UInt = #line) throws -> (Envelope, EnvelopeBatch) {
        let bytes = try stock.bytes(of: path)
        let records = try allRecords(bytes, name: path)
        // Framing: every record, in file order, at the offset and with the type stock reports, nothing more.
        let listing = PostcatListing(try stock.postcatBytes(path, ["-v", "-o", "-d", "-r"]))
        XCTAssertEqual(records.map { "\($0.offset) \($0.type.rawValue)" }, listing.records.map { "\($0.offset) \($0.type)" },
                       "record framing differs from postcat's", file: file, line: line)
        // Payloads of the records postcat prints verbatim.
        for (ours, theirs) in zip(records, listing.records) where PostcatListing.verbatim.contains(ours.type.rawValue) {
            XCTAssertEqual(ours.payload, theirs.value, "record at \(ours.offset)", file: file, line: line)
        }
        let (envelope, batch) = try Envelope.read(bytes: bytes, name: path)
        XCTAssertEqual(envelope.dataOffset, records.first { $0.type == .message }.map { $0.offset + 2 })
        XCTAssertEqual(envelope.dataOffset + envelope.dataSize, records.first { $0.type == .extracted }?.offset)
        XCTAssertEqual(Set(batch.recipients.map(\.offset)), Set(records.filter { $0.type == .recipient }.map(\.offset)))
        XCTAssertEqual(Set(batch.recipients.map(\.address.bytes)), Set(records.filter { $0.type == .recipient }.map(\.payload)))
        XCTAssertEqual(PostcatListing.printed(envelope.arrivalSeconds), listing.arrivalTime, file: file, line: line)
        XCTAssertGreaterThanOrEqual(envelope.createTime, envelope.arrivalSeconds)

        // Written by ours: the same bytes, and postcat prints the same.
        // (Our builder writes cleanup's first pass only: no records after E.)
        guard rebuild else { return (envelope, batch) }
        let rebuilt = try self.rebuild(records, envelope)
        XCTAssertEqual(rebuilt, bytes, "rebuilt file differs from stock's", file: file, line: line)
        let ours = stock.queue + "/ours-" + (path as NSString).lastPathComponent
        XCTAssertTrue(FileManager.default.createFile(atPath: ours, contents: Data(rebuilt)))
        defer { unlink(ours) }
        for options in [["-o", "-d"], ["-v", "-o", "-d"], ["-r"], ["-bh"]] {
            let theirsOut = try stock.postcatBytes(path, options)
            let oursOut = try stock.postcatBytes(ours, options)
            XCTAssertEqual(String(decoding: oursOut, as: UTF8.self).replacingOccurrences(of: ours, with: "FILE"),
                           String(decoding: theirsOut, as: UTF8.self).replacingOccurrences(of: stock.queue + "/" + path, with: "FILE"),
                           "postcat \(options)", file: file, line: line)
        }
        return (envelope, batch)
    }

    func allRecords(_ bytes: [UInt8], name: String = "(test)") throws -> [Record] {
        var reader = RecordReader(bytes: bytes, name: name)
        var out: [Record] = []
        while let r = try reader.nextRaw() { out.append(r) }
        return out
    }

    /// Content lines (N, with preceding L fragments joined) through the reader, following pointers.
    func contentLines(_ stock: StockQueueInstance, _ path: String, _ envelope: Envelope) throws -> [String] {
        var reader = RecordReader(bytes: try stock.bytes(of: path), name: path)
        reader.seek(to: envelope.dataOffset)
        var lines: [String] = []
        var partial: [UInt8] = []
        while let r = try reader.next(skipPadding: true), r.type != .extracted {
            partial += r.payload
            if r.type == .normal {
                lines.append(String(decoding: partial, as: UTF8.self))
                partial = []
            }
        }
        return lines
    }

    /// Our builder, driven by the values our reader found, record by record.
    func rebuild(_ records: [Record], _ envelope: Envelope) throws -> [UInt8] {
        var b = QueueFileBuilder(arrivalSeconds: envelope.arrivalSeconds, arrivalMicroseconds: envelope.arrivalMicroseconds,
                                 smtputf8: envelope.size?.smtputf8 ?? 0)
        var group: (notify: Int, dsn: ByteString, orig: ByteString) = (0, .empty, .empty)
        for r in records.dropFirst(2) {   // C and T come from init
            switch r.type {
            case .attribute:
                let text = r.payload
                let eq = try XCTUnwrap(text.firstIndex(of: UInt8(ascii: "=")))
                let name = String(decoding: text[..<eq], as: UTF8.self)
                let value = ByteString(text[(eq + 1)...])
                if name == "notify_flags" { group.notify = Int(value.description) ?? -1 }
                else if name == "dsn_orig_rcpt" { group.dsn = value }
                else { b.attribute(name, value) }
            case .originalRecipient: group.orig = r.text
            case .recipient:
                b.recipient(r.text, original: group.orig, dsnOriginalRecipient: group.dsn, dsnNotify: group.notify)
                group = (0, .empty, .empty)
            case .from: b.sender(r.text)
            case .warn: b.warningTime(envelope.warningTime)
            case .pointer:
                let target = try XCTUnwrap(RecordReader.pointerTarget(r.payload))
                if r.payload.count == FixedWidth.width { b.pointer(to: target) } else { b.padding(.pointer, recordSize: r.encodedSize) }
            case .padding: b.padding(.padding, recordSize: r.encodedSize)
            case .message: b.beginContent()
            case .extracted: b.endContent()
            case .end: return b.finish()
            default:
                if b.segment == .content { b.content(r.type, r.payload) } else { b.record(r.type, r.payload) }
            }
        }
        XCTFail("no end record")
        return []
    }
}

/// `postcat -v -o -d [-r]` output as (offset, decimal type, printed value) per record.
struct PostcatListing {
    struct Line { let offset: Int; let type: UInt8; let value: [UInt8] }
    var records: [Line] = []
    /// The arrival time as postcat prints it (asctime of local time).
    var arrivalTime: String?

    /// `seconds` as postcat prints a time.
    static func printed(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        localtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 64)
        asctime_r(&tm, &buf)
        return String(cString: buf).trimmingCharacters(in: .newlines)
    }

    /// Record types whose payload postcat prints unchanged after "name: ".
    static let verbatim: Set<UInt8> = Set("SROFNL".utf8)

    init(_ output: [UInt8]) {
        for raw in output.split(separator: 10, omittingEmptySubsequences: true) {
            let line = Array(raw)
            // "%9lu %3d name: value" or "%9lu %3d *** MARKER path ***"
            guard line.count >= 14, let offset = Int(String(decoding: line[0..<9], as: UTF8.self).trimmingCharacters(in: .whitespaces)),
                  let type = Int(String(decoding: line[10..<13], as: UTF8.self).trimmingCharacters(in: .whitespaces)) else { continue }
            let rest = Array(line[14...])
            var value: [UInt8] = []
            if let colon = rest.firstIndex(of: UInt8(ascii: ":")), !rest.starts(with: Array("***".utf8)) {
                value = Array(rest[(colon + 1)...].dropFirst())
            }
            records.append(Line(offset: offset, type: UInt8(type), value: value))
            if type == Int(RecordType.time.rawValue), arrivalTime == nil {
                arrivalTime = String(decoding: value, as: UTF8.self)
            }
        }
    }
}

extension StockQueueInstance {
    /// stock postcat's standard output as bytes (8-bit content intact); fails with its diagnostics.
    func postcatBytes(_ path: String, _ options: [String]) throws -> [UInt8] {
        let full = path.hasPrefix("/") ? path : queue + "/" + path
        let out = instance.dir + "/postcat.out"
        let r = try runCommand("/bin/sh", ["-c", "exec /usr/sbin/postcat \"$@\" >\"$OUT\" 2>/dev/null", "postcat",
                                           "-c", etc] + options + [full], env: ["MAIL_CONFIG": etc, "OUT": out])
        guard r.status == 0, let d = FileManager.default.contents(atPath: out) else {
            throw HarnessError("postcat \(options) \(full) failed (\(r.status)): \(try self.postcat(path, options))")
        }
        return [UInt8](d)
    }
}

/// Just enough of the Sendmail milter protocol (version 6) for cleanup:
/// negotiate adding headers and recipients, answer "continue" to every
/// step, and at the end of the message add a header and a recipient.
enum MinimalMilter {
    static func serve(_ fd: Int32) {
        while let (command, _) = readPacket(fd) {
            switch command {
            case UInt8(ascii: "O"):
                // version 6, actions ADDHDRS|ADDRCPT, no protocol steps skipped
                send(fd, "O", be32(6) + be32(0x01 | 0x04) + be32(0))
            case UInt8(ascii: "D"), UInt8(ascii: "A"):
                continue   // macros and abort get no reply
            case UInt8(ascii: "Q"):
                return
            case UInt8(ascii: "E"):
                send(fd, "h", Array("X-Milter\u{0}added\u{0}".utf8))
                send(fd, "+", Array("<added@remote.example>\u{0}".utf8))
                send(fd, "a", [])
            default:
                send(fd, "c", [])
            }
        }
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func send(_ fd: Int32, _ command: Character, _ data: [UInt8]) {
        ScriptedPeer.write(fd, be32(UInt32(data.count + 1)) + [command.asciiValue!] + data)
    }

    static func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 30_000) == 1 else { return nil }
            let r = out[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress!, n - got, 0) }
            guard r > 0 else { return nil }
            got += r
        }
        return out
    }

    static func readPacket(_ fd: Int32) -> (UInt8, [UInt8])? {
        guard let h = readExactly(fd, 4) else { return nil }
        let length = Int(h[0]) << 24 | Int(h[1]) << 16 | Int(h[2]) << 8 | Int(h[3])
        guard length >= 1, length < 1 << 20, let body = readExactly(fd, length) else { return nil }
        return (body[0], Array(body.dropFirst()))
    }
}
