// EnvelopeTests - the envelope pass's rules on hand-made files: which
// record wins, what becomes a warning (with stock's wording), DSN details
// attached to the next recipient only, batches and refills in pure and
// mixed recipient layouts, and the all-or-nothing update on errors.
import XCTest
@testable import MailQueue

final class EnvelopeTests: XCTestCase {
    /// A file: SIZE (recipient count `count`), T, then `envelope` records,
    /// M, one content line, X, `extracted` records, E.
    func file(count: Int = 0, flags: Int = 0, _ envelope: [(RecordType, String)],
              extracted: [(RecordType, String)] = []) -> [UInt8] {
        var w = RecordWriter()
        w.putSize(SizeRecord())
        w.putTime(seconds: 1_700_000_000, microseconds: 42)
        for (t, v) in envelope { w.put(t, v) }
        w.put(.message, [])
        let dataOffset = w.offset
        w.put(.normal, "Subject: x")
        let x = w.offset
        w.put(.extracted, [])
        for (t, v) in extracted { w.put(t, v) }
        w.put(.end, [])
        _ = w.patch(at: 0, .size, SizeRecord(dataSize: x - dataOffset, dataOffset: dataOffset,
                                            recipientCount: count, flags: flags).payload)
        return w.bytes
    }

    func testFirstAndLastWins() throws {
        let (e, batch) = try Envelope.read(bytes: file(count: 1, [
            (.time, "5 6"), (.from, "first@x"), (.from, "second@x"),
            (.attribute, "create_time=1700000009"), (.attribute, "create_time=1"),
            (.filter, "smtp:[a]"), (.filter, "smtp:[b]"), (.inspect, "i1"), (.inspect, "i2"),
            (.attribute, "envelope_id=e1"), (.attribute, "envelope_id=e2"),
            (.attribute, "encoding=7bit"), (.redirect, "r1@x"), (.redirect, "r2@x"),
            (.warn, "   1700000100"), (.warn, "            -1"),
            (.attribute, "ret_flags=1"), (.attribute, "ret_flags=2"),
            (.recipient, "a@x"),
        ], extracted: [(.attribute, "encoding=8bit"), (.attribute, " rewrite_context = remote ")]))
        XCTAssertEqual(e.arrivalSeconds, 1_700_000_000)
        XCTAssertEqual(e.arrivalMicroseconds, 42)
        XCTAssertEqual(e.sender, "first@x")
        XCTAssertEqual(e.createTime, 1_700_000_009)
        XCTAssertEqual(e.filterTransport, "smtp:[b]")
        XCTAssertEqual(e.inspectTransport, "i2")
        XCTAssertEqual(e.envelopeID, "e2")
        XCTAssertEqual(e.encoding, "8bit")
        XCTAssertEqual(e.redirectAddress, "r2@x")
        XCTAssertEqual(e.warningTime, 1_700_000_100)
        XCTAssertEqual(e.dsnRet, 2)
        XCTAssertEqual(e.rewriteContext, "remote")
        XCTAssertEqual(batch.warnings, [])
    }

    func testDefaults() throws {
        let (e, _) = try Envelope.read(bytes: file([(.from, "")]))
        XCTAssertEqual(e.sender, "")
        XCTAssertEqual(e.createTime, 1_700_000_000, "create_time defaults to the arrival seconds")
        XCTAssertEqual(e.rewriteContext, "local")
        XCTAssertEqual(e.encoding, "")
        XCTAssertEqual(e.envelopeID, "")
        XCTAssertEqual(e.dsnRet, 0)
        XCTAssertEqual(e.warningTime, 0)
        XCTAssertNil(e.warningOffset)
        XCTAssertEqual(e.clientName, "")
        XCTAssertEqual(e.traceFlags, 0)
    }

    func testClientAttributesLogNamesOverrideLegacyNames() throws {
        let (legacy, _) = try Envelope.read(bytes: file([(.from, "s"), (.attribute, "client_name=old.example"),
                                                         (.attribute, "client_address=10.0.0.1")]))
        XCTAssertEqual(legacy.clientName, "old.example")
        XCTAssertEqual(legacy.clientAddress, "10.0.0.1")
        let (modern, _) = try Envelope.read(bytes: file([(.from, "s"), (.attribute, "client_name=old.example"),
                                                         (.attribute, "log_client_name=new.example"),
                                                         (.attribute, "client_address=10.0.0.1"),
                                                         (.attribute, "log_helo_name=helo.example"),
                                                         (.attribute, "log_helo_name=helo2.example")]))
        XCTAssertEqual(modern.clientName, "new.example")
        XCTAssertEqual(modern.clientAddress, "", "legacy names count only before any log_* name")
        XCTAssertEqual(modern.clientHelo, "helo2.example")
    }

    func testWarningsWithStockWording() throws {
        let (e, batch) = try Envelope.read(bytes: file(count: 3, [
            (.from, "s@x"),
            (.originalRecipient, "o1"), (.originalRecipient, "o2"),
            (.attribute, "notify_flags=3"), (.attribute, "dsn_orig_rcpt=rfc822;a"), (.attribute, "dsn_orig_rcpt=rfc822;b"),
            (.recipient, "a@x"),
            (.attribute, "notify_flags=8"), (.attribute, "notify_flags=2"), (.recipient, "b@x"),
            (.attribute, "sasl_method=PLAIN"), (.attribute, "sasl_method=LOGIN"),
            (.attribute, "ret_flags=3"), (.verp, "+="),
            (.originalRecipient, "dangling"),
        ]))
        XCTAssertEqual(batch.warnings.map(\.description), [
            "ignoring out-of-order original recipient <o1>",
            "ignoring malformed DSN notify flags <3>",
            "ignoring out-of-order DSN original recipient address <rfc822;a>",
            "ignoring out-of-order DSN notify flags <8>",
            "ignoring multiple sasl_method attribute: LOGIN",
            "ignoring malformed DSN RET flags in queue file record:3",
            "ignoring out-of-order original recipient <dangling>",
            "rcpt count mismatch (1)",
        ])
        XCTAssertEqual(batch.recipients, [
            QueuedRecipient(offset: batch.recipients[0].offset, address: "a@x", originalRecipient: "o2",
                            dsnOriginalRecipient: "rfc822;b", dsnNotify: 0),
            QueuedRecipient(offset: batch.recipients[1].offset, address: "b@x", dsnNotify: 2),
        ])
        XCTAssertEqual(e.saslMethod, "PLAIN")
        XCTAssertEqual(e.verpDelimiters, "+=")
        XCTAssertEqual(e.unreadRecipients, 0)
    }

    func testVERPRules() throws {
        let (null, nullBatch) = try Envelope.read(bytes: file([(.from, ""), (.verp, "+=")]))
        XCTAssertNil(null.verpDelimiters)
        XCTAssertEqual(nullBatch.warnings.map(\.description), ["ignoring VERP request for null sender"])
        let (bad, badBatch) = try Envelope.read(bytes: file([(.from, "s"), (.verp, "+#"), (.verp, "-=")]))
        XCTAssertEqual(bad.verpDelimiters, "-=", "a bad request does not count as the first")
        XCTAssertEqual(badBatch.warnings.map(\.description), ["ignoring bad VERP request: \"+#\""])
    }

    func testDoneAndCancelledRecipientsClearPendingDetails() throws {
        let (e, batch) = try Envelope.read(bytes: file(count: 3, [
            (.from, "s"), (.originalRecipient, "o"), (.attribute, "notify_flags=2"), (.done, "a@x"),
            (.attribute, "dsn_orig_rcpt=rfc822;c"), (.cancelledRecipient, "c@x"), (.recipient, "b@x"),
        ]))
        XCTAssertEqual(batch.recipients.map(\.address), ["b@x"])
        XCTAssertEqual(batch.recipients[0].originalRecipient, "")
        XCTAssertEqual(batch.recipients[0].dsnNotify, 0)
        XCTAssertEqual(batch.recipients[0].dsnOriginalRecipient, "")
        XCTAssertEqual(batch.warnings, [])
        XCTAssertEqual(e.unreadRecipients, 0)
    }

    func testTraceFlagsAndPayloadsEndAtNUL() throws {
        let (e, _) = try Envelope.read(bytes: file([(.from, "s@x\u{0}hidden"), (.attribute, "trace_flags=1537"),
                                                    (.attribute, "trace_flags=512")]))
        XCTAssertEqual(e.sender, "s@x")
        XCTAssertEqual(e.traceFlags, 1536, "masked to the trace bits; the first non-zero value wins")
        XCTAssertNil(e.traceFlagsOffset, "only a (masked) value of exactly 1024 is remembered for killing")
        let (record, _) = try Envelope.read(bytes: file([(.from, "s"), (.attribute, "trace_flags=1025")]))
        XCTAssertEqual(record.traceFlags, 1024)
        XCTAssertEqual(record.traceFlagsOffset, 97 + 15 + 3, "after SIZE, T and S")
    }

    func testTimeRecordQuirk() throws {
        // Microseconds are read after the leading digits of the seconds, as stock does.
        let (e, _) = try Envelope.read(bytes: file([(.from, "s")]).replacing(Array("1700000000 42".utf8),
                                                                             with: Array("1700000000x 7".utf8)))
        XCTAssertEqual(e.arrivalSeconds, 1_700_000_000)
        XCTAssertEqual(e.arrivalMicroseconds, 0, "atol(\"x 7\") is 0")
    }

    /// Pure recipient sections: after a full batch the pass jumps to the
    /// content and reads the extracted segment's other records; the refill
    /// continues after the last recipient read.
    func testBatchesInAPureRecipientLayout() throws {
        let bytes = file(count: 5, [(.from, "s"), (.recipient, "e1"), (.recipient, "e2"), (.recipient, "e3")],
                         extracted: [(.attribute, "encoding=8bit"), (.recipient, "x1"), (.recipient, "x2")])
        var reader = RecordReader(bytes: bytes)
        var e = Envelope()
        let first = try e.load(from: &reader, recipientLimit: 2)
        XCTAssertEqual(first.recipients.map(\.address), ["e1", "e2"])
        XCTAssertEqual(e.encoding, "8bit", "the extracted segment was examined")
        XCTAssertTrue(e.seenAllNonRecipientRecords)
        XCTAssertEqual(e.refillOffset, first.recipients[1].offset + 4)
        XCTAssertEqual(e.unreadRecipients, 3)
        let second = try e.load(from: &reader, recipientLimit: 2)
        XCTAssertEqual(second.recipients.map(\.address), ["e3", "x1"])
        let third = try e.load(from: &reader, recipientLimit: 2)
        XCTAssertEqual(third.recipients.map(\.address), ["x2"])
        XCTAssertNil(e.refillOffset)
        XCTAssertEqual(e.unreadRecipients, 0)
        XCTAssertEqual(third.warnings, [])
    }

    /// With the mixed hint the pass keeps reading (recipients ignored) to see every other record.
    func testBatchesInAMixedLayout() throws {
        let bytes = file(count: 3, flags: SizeRecord.QueueFlags.mixedRecipientsAndOther,
                         [(.recipient, "a"), (.recipient, "b"), (.from, "late-sender"), (.recipient, "c")])
        var reader = RecordReader(bytes: bytes)
        var e = Envelope()
        let first = try e.load(from: &reader, recipientLimit: 1)
        XCTAssertEqual(first.recipients.map(\.address), ["a"])
        XCTAssertEqual(e.sender, "late-sender")
        XCTAssertTrue(e.seenAllNonRecipientRecords)
        let rest = try e.load(from: &reader, recipientLimit: 10)
        XCTAssertEqual(rest.recipients.map(\.address), ["b", "c"])
    }

    /// A refill that fails leaves the envelope as it was, so it can be retried or given up.
    func testFailedLoadChangesNothing() throws {
        let bytes = file(count: 2, [(.from, "s"), (.recipient, "a"), (.recipient, "b")])
        var reader = RecordReader(bytes: bytes)
        var e = Envelope()
        _ = try e.load(from: &reader, recipientLimit: 1)
        let before = e
        var broken = RecordReader(bytes: Array(bytes[0..<(e.refillOffset! + 1)]), name: "cut")
        XCTAssertThrowsError(try e.load(from: &broken, recipientLimit: 1)) {
            XCTAssertEqual("\($0)", "cut: offset \(before.refillOffset!): unexpected EOF reading length, record type 'R'")
        }
        XCTAssertEqual(e, before)
    }
}

extension Array where Element == UInt8 {
    /// The first occurrence of `old` replaced by `new` (same length expected by callers that care).
    func replacing(_ old: [UInt8], with new: [UInt8]) -> [UInt8] {
        guard let start = indices.first(where: { self[$0...].starts(with: old) }) else { return self }
        return Array(self[..<start]) + new + Array(self[(start + old.count)...])
    }
}
