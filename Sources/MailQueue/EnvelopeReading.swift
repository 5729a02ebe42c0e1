// EnvelopeReading: the envelope pass over a queue file (see Envelope.swift
// for the rules). `load` reads one batch of recipients plus, until they have
// all been seen, the non-recipient records; it is all-or-nothing: when it
// throws, the Envelope is unchanged (stock likewise keeps the previous
// refill offset and unread count).

extension Envelope {
    /// Bits of trace_flags a queue manager keeps (DEL_REQ_TRACE_FLAGS_MASK).
    public static let traceFlagsMask = 256 | 512 | 1024 | 8192
    /// trace_flags value of `sendmail -v` (DEL_REQ_FLAG_RECORD).
    public static let traceFlagRecord = 1024

    /// Reads the next batch of at most `recipientLimit` recipients (at least 1)
    /// from `reader`. On the first call the reader should be at offset 0; on
    /// later calls (refill) the pass continues at `refillOffset`.
    /// `verpFilter` is main.cf's verp_delimiter_filter.
    public mutating func load(from reader: inout RecordReader, recipientLimit: Int,
                              verpFilter: String = "-=+") throws(QueueFileError) -> EnvelopeBatch {
        var pass = EnvelopePass(envelope: self, limit: Swift.max(1, recipientLimit),
                                verpFilter: Array(verpFilter.utf8))
        if let resume = refillOffset {
            reader.seek(to: resume)
            pass.envelope.refillOffset = nil
        } else {
            reader.seek(to: reader.position)
        }
        try pass.run(&reader)
        self = pass.envelope
        return pass.batch
    }

    /// The whole envelope of a queue file held in memory, all recipients in
    /// one batch: the entry point for tests and fuzzing.
    public static func read(bytes: [UInt8], name: String = "(memory)",
                            recipientLimit: Int = Int.max) throws(QueueFileError) -> (Envelope, EnvelopeBatch) {
        var reader = RecordReader(bytes: bytes, name: name)
        var envelope = Envelope()
        let batch = try envelope.load(from: &reader, recipientLimit: recipientLimit)
        return (envelope, batch)
    }
}

/// The state of one pass; `envelope` is a copy that replaces the original on success.
struct EnvelopePass {
    var envelope: Envelope
    let limit: Int
    let verpFilter: [UInt8]
    var batch = EnvelopeBatch()
    // Recipient details waiting for the next R.
    var pendingOriginal: ByteString?
    var pendingDSNOriginal: ByteString?
    var pendingNotify = 0

    init(envelope: Envelope, limit: Int, verpFilter: [UInt8]) {
        self.envelope = envelope
        self.limit = limit
        self.verpFilter = verpFilter
    }

    /// Still reading recipients in this batch (stock: rcpt_offset == 0).
    var collecting: Bool { envelope.refillOffset == nil }

    mutating func warn(_ kind: EnvelopeWarning.Kind, at offset: Int) {
        batch.warnings.append(EnvelopeWarning(offset: offset, kind: kind))
    }

    mutating func run(_ reader: inout RecordReader) throws(QueueFileError) {
        try readRecords(&reader)
        if let dangling = pendingDSNOriginal { warn(.trailingDSNOriginalRecipient(dangling), at: -1) }
        if let dangling = pendingOriginal { warn(.outOfOrderOriginalRecipient(dangling), at: -1) }
        if envelope.unreadRecipients < 0 || (collecting && envelope.unreadRecipients != 0) {
            warn(.recipientCountMismatch(envelope.unreadRecipients), at: -1)
            envelope.unreadRecipients = 0
        }
        func missing(_ p: QueueFileError.Problem) -> QueueFileError {
            QueueFileError(file: reader.name, offset: -1, problem: p)
        }
        if envelope.arrivalSeconds == 0 { throw missing(.missingArrivalTime) }
        if envelope.sender == nil { throw missing(.missingSender) }
        if envelope.size == nil { throw missing(.missingSizeRecord) }
    }

    private mutating func readRecords(_ reader: inout RecordReader) throws(QueueFileError) {
        while true {
            var current = reader.position
            var onlyExtractedStart = false
            if let size = envelope.size, current == size.dataOffset {
                guard size.dataSize <= reader.source.size - current else {
                    throw QueueFileError(file: reader.name, offset: current, problem:
                        .contentBeyondEnd(dataOffset: size.dataOffset, dataSize: size.dataSize, fileSize: reader.source.size))
                }
                current += size.dataSize
                reader.seek(to: current, newPass: false)
                onlyExtractedStart = true
            }
            guard let record = try reader.nextRaw() else {
                throw QueueFileError(file: reader.name, offset: current, problem: .missingEndRecord)
            }
            if record.type == .pointer {
                try reader.follow(record)
                continue
            }
            let allowed = onlyExtractedStart ? record.type == .extracted
                                             : record.type.isEnvelopeOrExtracted
            guard allowed else {
                throw QueueFileError(file: reader.name, offset: current, problem: .unexpectedRecordType(record.type))
            }
            if record.type == .end {
                envelope.seenAllNonRecipientRecords = true
                return
            }
            if try handle(record, reader: &reader) == .endOfBatch { return }
        }
    }

    enum Next { case more, endOfBatch }

    /// One record that is neither a pointer nor E.
    private mutating func handle(_ record: Record, reader: inout RecordReader) throws(QueueFileError) -> Next {
        var type = record.type
        var value = EnvelopePass.cString(record.payload)
        var attributeName = ""
        if type == .attribute {
            switch EnvelopePass.splitNameValue(value) {
            case .failure(let reason):
                throw QueueFileError(file: reader.name, offset: record.offset,
                                     problem: .badAttribute(reason: reason.text, text: ByteString(value)))
            case .success(let (name, attributeValue)):
                attributeName = String(decoding: name, as: UTF8.self)
                if let mapped = EnvelopePass.pseudoRecordType(attributeName) {
                    type = mapped
                    value = attributeValue
                } else {
                    value = attributeValue
                }
            }
        }
        switch type {
        case .recipient:
            return recipient(ByteString(value), at: record.offset, reader: &reader)
        case .done, .cancelledRecipient:
            if collecting {
                envelope.unreadRecipients -= 1
                clearPending()
            }
            return .more
        case .dsnOriginalRecipient:
            if let old = pendingDSNOriginal { warn(.outOfOrderDSNOriginalRecipient(old), at: record.offset) }
            pendingDSNOriginal = collecting ? ByteString(value) : nil
            return .more
        case .dsnNotify:
            if pendingNotify != 0 { warn(.outOfOrderDSNNotify(pendingNotify), at: record.offset) }
            pendingNotify = 0
            if collecting {
                let n = Int(CNumbers.atoi(value))
                if CNumbers.allDigits(value) && n != 0 && EnvelopePass.notifyIsValid(n) {
                    pendingNotify = n
                } else {
                    warn(.malformedDSNNotify(ByteString(value)), at: record.offset)
                }
            }
            return .more
        case .originalRecipient:
            if let old = pendingOriginal { warn(.outOfOrderOriginalRecipient(old), at: record.offset) }
            pendingOriginal = collecting ? ByteString(value) : nil
            return .more
        default:
            if !envelope.seenAllNonRecipientRecords {
                try nonRecipient(type, value, attributeName: attributeName, record: record, reader: reader)
            }
            return .more
        }
    }

    private mutating func clearPending() {
        pendingOriginal = nil
        pendingDSNOriginal = nil
        pendingNotify = 0
    }

    private mutating func recipient(_ address: ByteString, at offset: Int, reader: inout RecordReader) -> Next {
        guard collecting else { return .more }
        envelope.unreadRecipients -= 1
        batch.recipients.append(QueuedRecipient(offset: offset, address: address,
                                                originalRecipient: pendingOriginal ?? .empty,
                                                dsnOriginalRecipient: pendingDSNOriginal ?? .empty,
                                                dsnNotify: pendingNotify))
        clearPending()
        guard batch.recipients.count >= limit else { return .more }
        envelope.refillOffset = reader.position
        if envelope.seenAllNonRecipientRecords { return .endOfBatch }
        if let size = envelope.size, size.flags & SizeRecord.QueueFlags.mixedRecipientsAndOther != 0 {
            return .more
        }
        if offset > envelope.dataOffset {
            envelope.seenAllNonRecipientRecords = true
            return .endOfBatch
        }
        // The rest of the envelope segment is recipients only: the other
        // records still to see are in the extracted segment.
        reader.seek(to: envelope.dataOffset, newPass: false)
        return .more
    }

    private mutating func nonRecipient(_ type: RecordType, _ value: [UInt8], attributeName: String,
                                       record: Record, reader: RecordReader) throws(QueueFileError) {
        let text = ByteString(value)
        switch type {
        case .size:
            guard envelope.size == nil else { return }
            func reject(_ p: QueueFileError.Problem) -> QueueFileError {
                QueueFileError(file: reader.name, offset: record.offset, problem: p)
            }
            switch SizeRecord.parse(value) {
            case .valid(let size, _):
                envelope.size = size
                envelope.unreadRecipients = size.recipientCount
            case .preVersion1: throw reject(.preVersion1SizeRecord(text))
            case .weird: throw reject(.weirdSizeRecord(text))
            case .invalid: throw reject(.invalidSizeRecord(text))
            case .invalidFlags: throw reject(.invalidSizeFlags(text))
            }
        case .time:
            if envelope.arrivalSeconds == 0 {
                envelope.arrivalSeconds = CNumbers.atol(value)
                // Microseconds start after the leading digits of the seconds (REC_TYPE_TIME_SCAN).
                envelope.arrivalMicroseconds = CNumbers.atol(value.drop(while: CNumbers.isDigit))
            }
        case .createTime:
            if envelope.recordedCreateTime == 0 { envelope.recordedCreateTime = CNumbers.atol(value) }
        case .filter: envelope.filterTransport = text
        case .inspect: envelope.inspectTransport = text
        case .redirect: envelope.redirectAddress = text
        case .from:
            if envelope.sender == nil {
                envelope.sender = text
                envelope.unreadRecipientsAtSender = envelope.unreadRecipients
            }
        case .dsnEnvelopeID: envelope.recordedEnvelopeID = text
        case .dsnRet:
            let n = Int(CNumbers.atoi(value))
            if CNumbers.allDigits(value) && (n == 1 || n == 2) {
                envelope.dsnRet = n
            } else {
                warn(.malformedDSNRet(text), at: record.offset)
            }
        case .attribute:
            attribute(attributeName, text, at: record.offset)
        case .warn:
            if envelope.warningOffset == nil {
                envelope.warningOffset = record.offset
                envelope.warningTime = CNumbers.atol(value)
            }
        case .verp:
            guard envelope.verpDelimiters == nil else { return }
            if envelope.sender?.isEmpty ?? true {
                warn(.verpForNullSender, at: record.offset)
            } else if value.count != 2 || !value.allSatisfy(verpFilter.contains) {
                warn(.badVERP(text), at: record.offset)
            } else {
                envelope.verpDelimiters = text
            }
        default:
            break   // F, K, V..., P, r, e: nothing a queue manager uses.
        }
    }

    private mutating func attribute(_ name: String, _ value: ByteString, at offset: Int) {
        var client = envelope.client
        var sasl = envelope.sasl
        var duplicate = false
        let logAttributesSeenBefore = client.fromLogAttributes
        /// First value wins; a later one is a warning.
        func firstWins(_ field: inout ByteString?) {
            if field == nil { field = value } else { duplicate = true }
        }
        /// Pre-2.3 names count only when no log_* attribute has been seen.
        func legacy(_ field: inout ByteString?) {
            if !logAttributesSeenBefore && field == nil { field = value }
        }
        var logAttributeSeen = false
        /// The log_* names override whatever came before.
        func logAttribute(_ field: inout ByteString?) {
            field = value
            logAttributeSeen = true
        }
        switch name {
        case "encoding": envelope.recordedEncoding = value
        case "client_name": legacy(&client.name)
        case "client_address": legacy(&client.address)
        case "client_port": legacy(&client.port)
        case "protocol_name": legacy(&client.protocolName)
        case "helo_name": legacy(&client.helo)
        case "log_client_name": logAttribute(&client.name)
        case "log_client_address": logAttribute(&client.address)
        case "log_client_port": logAttribute(&client.port)
        case "log_protocol_name": logAttribute(&client.protocolName)
        case "log_helo_name": logAttribute(&client.helo)
        case "sasl_method": firstWins(&sasl.method)
        case "sasl_username": firstWins(&sasl.username)
        case "sasl_sender": firstWins(&sasl.sender)
        case "log_ident": firstWins(&envelope.recordedLogIdent)
        case "rewrite_context": firstWins(&envelope.recordedRewriteContext)
        case "trace_flags":
            if envelope.traceFlags == 0 {
                envelope.traceFlags = Int(CNumbers.atoi(value.bytes)) & Envelope.traceFlagsMask
                envelope.traceFlagsOffset = envelope.traceFlags == Envelope.traceFlagRecord ? offset : nil
            }
        default: break
        }
        if logAttributeSeen { client.fromLogAttributes = true }
        envelope.client = client
        envelope.sasl = sasl
        if duplicate { warn(.multipleAttribute(name: name, value: value), at: offset) }
    }

    // MARK: helpers

    /// The bytes before the first NUL: what stock's string handling sees.
    static func cString(_ payload: [UInt8]) -> [UInt8] {
        guard let nul = payload.firstIndex(of: 0) else { return payload }
        return Array(payload[..<nul])
    }

    /// Named attributes that stand for record types (rec_attr_map).
    static func pseudoRecordType(_ name: String) -> RecordType? {
        switch name {
        case "dsn_orig_rcpt": return .dsnOriginalRecipient
        case "notify_flags": return .dsnNotify
        case "envelope_id": return .dsnEnvelopeID
        case "ret_flags": return .dsnRet
        case "create_time": return .createTime
        default: return nil
        }
    }

    /// DSN_NOTIFY_OK: NEVER alone, or any combination of SUCCESS, FAILURE, DELAY.
    static func notifyIsValid(_ n: Int) -> Bool { n == 1 || n == (n & (2 | 4 | 8)) }

    struct SplitFailure: Error { let text: String }

    /// split_nameval: "name=value", white space around both trimmed; the name
    /// ends at white space or "=".
    static func splitNameValue(_ text: [UInt8]) -> Result<([UInt8], [UInt8]), SplitFailure> {
        var i = 0
        while i < text.count, CNumbers.isSpace(text[i]) { i += 1 }
        if i == text.count || text[i] == UInt8(ascii: "=") { return .failure(SplitFailure(text: "missing attribute name")) }
        let nameStart = i
        while i < text.count, !CNumbers.isSpace(text[i]), text[i] != UInt8(ascii: "=") { i += 1 }
        let name = Array(text[nameStart..<i])
        while i < text.count, CNumbers.isSpace(text[i]) { i += 1 }
        guard i < text.count, text[i] == UInt8(ascii: "=") else {
            return .failure(SplitFailure(text: "missing '=' after attribute name"))
        }
        i += 1
        while i < text.count, CNumbers.isSpace(text[i]) { i += 1 }
        var end = text.count
        while end > i, CNumbers.isSpace(text[end - 1]) { end -= 1 }
        return .success((name, Array(text[i..<end])))
    }
}
