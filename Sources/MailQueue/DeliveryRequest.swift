// DeliveryRequest: what a queue manager sends a delivery agent on
// private/<transport> ("delivery_request_protocol"), and the agent's reply;
// both directions encode and decode, strictly, as qmgr_deliver and
// deliver_request_get do:
// - main list, all 23 attributes in this order: flags, queue_name,
//   queue_id, offset, size, nexthop, encoding, smtputf8, sender,
//   envelope_id, ret_flags, time (MSG_STATS, 88 raw bytes in base64),
//   log_client_name, log_client_address, log_client_port,
//   log_protocol_name, log_helo_name, sasl_method, sasl_username,
//   sasl_sender, log_ident, rewrite_context, recipient_count;
// - then one list per recipient: original_recipient, recipient, offset,
//   dsn_orig_rcpt, notify_flags (at least one recipient);
// - reply: the hop DSN (status, diag_type, diag_text, mta_type, mta_mname,
//   action, reason) and an INT status (0: all final, else retry).

/// Bits of the request's flags attribute (DEL_REQ_FLAG_*).
public enum DeliveryFlags {
    public static let success = 1
    public static let bounce = 2
    public static let `default` = success | bounce
    public static let mtaVerify = 256
    public static let userVerify = 512
    public static let record = 1024
    public static let connectionLoad = 2048
    public static let connectionStore = 4096
    public static let recordDelaySent = 8192
}

/// Postfix's MSG_STATS as it travels in the `time` attribute: the raw
/// x86_64 struct, five struct timevals (two int64 each) and an int32 reuse
/// count, padded to 88 bytes, little-endian.
public struct MessageStats: Equatable, Sendable {
    public struct Time: Equatable, Sendable {
        public var seconds: Int
        public var microseconds: Int
        public init(seconds: Int = 0, microseconds: Int = 0) {
            self.seconds = seconds
            self.microseconds = microseconds
        }
    }

    public var incomingArrival = Time()
    public var activeArrival = Time()
    public var agentHandoff = Time()
    public var connectionSetupDone = Time()
    public var deliverDone = Time()
    public var reuseCount: Int32 = 0

    public static let size = 88

    public init(incomingArrival: Time = Time(), activeArrival: Time = Time()) {
        self.incomingArrival = incomingArrival
        self.activeArrival = activeArrival
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(MessageStats.size)
        func append(_ v: UInt64, _ count: Int) {
            for i in 0..<count { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }
        func append(_ t: Time) {
            append(UInt64(bitPattern: Int64(t.seconds)), 8)
            append(UInt64(bitPattern: Int64(t.microseconds)), 8)
        }
        append(incomingArrival)
        append(activeArrival)
        append(agentHandoff)
        append(connectionSetupDone)
        append(deliverDone)
        append(UInt64(UInt32(bitPattern: reuseCount)), 4)
        append(0, 4)
        return out
    }

    /// Nil unless exactly 88 bytes (agents refuse other sizes).
    public init?(bytes: [UInt8]) {
        guard bytes.count == MessageStats.size else { return nil }
        func word(_ at: Int) -> Int { Int(Int64(bitPattern: MessageStats.value(bytes[at..<(at + 8)]))) }
        let times = (0..<5).map { Time(seconds: word($0 * 16), microseconds: word($0 * 16 + 8)) }
        (incomingArrival, activeArrival, agentHandoff, connectionSetupDone, deliverDone) =
            (times[0], times[1], times[2], times[3], times[4])
        reuseCount = Int32(bitPattern: UInt32(truncatingIfNeeded: MessageStats.value(bytes[80..<84])))
    }

    static func value(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// A delivery status (DSN) as Postfix passes it between processes.
public struct DSN: Equatable, Sendable {
    public var status: ByteString
    public var diagnosticType: ByteString
    public var diagnosticText: ByteString
    public var mtaType: ByteString
    public var mtaName: ByteString
    public var action: ByteString
    public var reason: ByteString

    public init(status: ByteString = .empty, diagnosticType: ByteString = .empty, diagnosticText: ByteString = .empty,
                mtaType: ByteString = .empty, mtaName: ByteString = .empty, action: ByteString = .empty,
                reason: ByteString = .empty) {
        self.status = status
        self.diagnosticType = diagnosticType
        self.diagnosticText = diagnosticText
        self.mtaType = mtaType
        self.mtaName = mtaName
        self.action = action
        self.reason = reason
    }

    var items: [AttrItem] {
        [.string("status", status), .string("diag_type", diagnosticType), .string("diag_text", diagnosticText),
         .string("mta_type", mtaType), .string("mta_mname", mtaName), .string("action", action), .string("reason", reason)]
    }

    static func scan(_ s: inout AttrScanner) throws(AttrError) -> DSN {
        DSN(status: try s.string("status"), diagnosticType: try s.string("diag_type"),
            diagnosticText: try s.string("diag_text"), mtaType: try s.string("mta_type"),
            mtaName: try s.string("mta_mname"), action: try s.string("action"), reason: try s.string("reason"))
    }
}

extension MessageOrigin {
    /// In the order of the delivery request.
    var items: [AttrItem] {
        [.string("log_client_name", clientName), .string("log_client_address", clientAddress),
         .string("log_client_port", clientPort), .string("log_protocol_name", clientProtocol),
         .string("log_helo_name", clientHelo), .string("sasl_method", saslMethod),
         .string("sasl_username", saslUsername), .string("sasl_sender", saslSender),
         .string("log_ident", logIdent), .string("rewrite_context", rewriteContext)]
    }

    static func scan(_ s: inout AttrScanner) throws(AttrError) -> MessageOrigin {
        MessageOrigin(clientName: try s.string("log_client_name"), clientAddress: try s.string("log_client_address"),
                      clientPort: try s.string("log_client_port"), clientProtocol: try s.string("log_protocol_name"),
                      clientHelo: try s.string("log_helo_name"), saslMethod: try s.string("sasl_method"),
                      saslUsername: try s.string("sasl_username"), saslSender: try s.string("sasl_sender"),
                      logIdent: try s.string("log_ident"), rewriteContext: try s.string("rewrite_context"))
    }
}

extension QueuedRecipient {
    /// rcpt_print's attributes.
    var items: [AttrItem] {
        [.string("original_recipient", originalRecipient), .string("recipient", address), .long("offset", offset),
         .string("dsn_orig_rcpt", dsnOriginalRecipient), .int("notify_flags", dsnNotify)]
    }

    static func scan(_ s: inout AttrScanner) throws(AttrError) -> QueuedRecipient {
        let original = try s.string("original_recipient")
        let address = try s.string("recipient")
        let offset = Int(truncatingIfNeeded: try s.long("offset"))
        return QueuedRecipient(offset: offset, address: address, originalRecipient: original,
                               dsnOriginalRecipient: try s.string("dsn_orig_rcpt"),
                               dsnNotify: try s.signedInt("notify_flags"))
    }
}

public struct DeliveryRequest: Equatable, Sendable {
    public static let protocolName = "delivery_request_protocol"

    public var flags: Int
    public var queueName: ByteString
    public var queueID: ByteString
    /// SIZE field 2: where the content starts.
    public var dataOffset: Int
    /// SIZE field 5 (or 1): the content length.
    public var contentLength: Int
    public var nexthop: ByteString
    public var encoding: ByteString = .empty
    public var smtputf8: Int = 0
    public var sender: ByteString
    public var envelopeID: ByteString = .empty
    public var dsnRet: Int = 0
    public var stats: MessageStats
    public var origin = MessageOrigin()
    public var recipients: [QueuedRecipient]

    public init(flags: Int = DeliveryFlags.default, queueName: ByteString = "active", queueID: ByteString,
                dataOffset: Int, contentLength: Int, nexthop: ByteString, sender: ByteString,
                stats: MessageStats, recipients: [QueuedRecipient]) {
        self.flags = flags
        self.queueName = queueName
        self.queueID = queueID
        self.dataOffset = dataOffset
        self.contentLength = contentLength
        self.nexthop = nexthop
        self.sender = sender
        self.stats = stats
        self.recipients = recipients
    }

    /// A request for `recipients` of a message whose envelope was read with
    /// the envelope pass: every message-level attribute as qmgr fills it,
    /// except what depends on the recipients (the VERP sender form and the
    /// SMTPUTF8 recipient bit), which the caller adds.
    public init(envelope: Envelope, queueID: QueueID, nexthop: ByteString, recipients: [QueuedRecipient],
                flags: Int = DeliveryFlags.default, activeArrival: MessageStats.Time) {
        self.init(flags: flags, queueID: ByteString(queueID.text), dataOffset: envelope.dataOffset,
                  contentLength: envelope.contentLength, nexthop: nexthop, sender: envelope.sender ?? .empty,
                  stats: MessageStats(incomingArrival: .init(seconds: envelope.arrivalSeconds,
                                                             microseconds: envelope.arrivalMicroseconds),
                                      activeArrival: activeArrival),
                  recipients: recipients)
        encoding = envelope.encoding
        smtputf8 = envelope.size?.smtputf8 ?? 0
        envelopeID = envelope.envelopeID
        dsnRet = envelope.dsnRet
        origin = envelope.origin
    }

    /// The main list.
    public var mainList: AttrList {
        var items = messageItems
        items += origin.items
        items.append(recipientCount)
        return AttrList(items)
    }

    /// The main list's attributes before the origin's.
    private var messageItems: [AttrItem] {
        [.int("flags", flags), .string("queue_name", queueName), .string("queue_id", queueID),
         .long("offset", dataOffset), .long("size", contentLength), .string("nexthop", nexthop),
         .string("encoding", encoding), .int("smtputf8", smtputf8), .string("sender", sender),
         .string("envelope_id", envelopeID), .int("ret_flags", dsnRet), .data("time", stats.bytes)]
    }

    private var recipientCount: AttrItem { .int("recipient_count", recipients.count) }

    /// Everything the agent reads: the main list, then one list per recipient
    /// (the bytes of `mainList.encoded` and each recipient's list, written
    /// into one buffer).
    public var encoded: [UInt8] {
        var encoder = AttrEncoder(capacity: 1024)
        encoder.append(messageItems)
        encoder.append(origin.items)
        encoder.append(recipientCount)
        encoder.endList()
        for recipient in recipients {
            encoder.append(recipient.items)
            encoder.endList()
        }
        return encoder.bytes
    }

    /// Reads the main list; the recipients (`count` of them) are read with `addRecipient`.
    public static func decodeMain(_ list: AttrList, peer: String) throws(AttrError) -> (request: DeliveryRequest, count: Int) {
        var s = AttrScanner(list, peer: peer)
        let flags = try s.signedInt("flags")
        let queueName = try s.string("queue_name"), queueID = try s.string("queue_id")
        let offset = Int(truncatingIfNeeded: try s.long("offset")), size = Int(truncatingIfNeeded: try s.long("size"))
        let nexthop = try s.string("nexthop"), encoding = try s.string("encoding")
        let smtputf8 = try s.signedInt("smtputf8")
        let sender = try s.string("sender"), envelopeID = try s.string("envelope_id")
        let dsnRet = try s.signedInt("ret_flags")
        let statsBytes = try s.data("time")
        guard let stats = MessageStats(bytes: statsBytes) else {
            throw AttrError(peer: peer, problem: .badReply("size mis-match: time attribute has \(statsBytes.count) bytes, not \(MessageStats.size)"))
        }
        var r = DeliveryRequest(flags: flags, queueName: queueName, queueID: queueID, dataOffset: offset,
                                contentLength: size, nexthop: nexthop, sender: sender, stats: stats, recipients: [])
        r.encoding = encoding
        r.smtputf8 = smtputf8
        r.envelopeID = envelopeID
        r.dsnRet = dsnRet
        r.origin = try MessageOrigin.scan(&s)
        let count = try s.signedInt("recipient_count")
        try s.finish()
        guard count > 0 else {
            throw AttrError(peer: peer, problem: .badReply("no recipients in delivery request for destination \(nexthop)"))
        }
        return (r, count)
    }

    public mutating func addRecipient(_ list: AttrList, peer: String) throws(AttrError) {
        var s = AttrScanner(list, peer: peer)
        recipients.append(try QueuedRecipient.scan(&s))
        try s.finish()
    }

    /// A whole request from its lists (tests, fuzzing, an agent that has read them all).
    public static func decode(_ lists: [AttrList], peer: String) throws(AttrError) -> DeliveryRequest {
        guard let first = lists.first else { throw AttrError(peer: peer, problem: .missingAttribute("flags")) }
        var (request, count) = try decodeMain(first, peer: peer)
        guard lists.count - 1 == count else {
            throw AttrError(peer: peer, problem: .badReply("recipient_count \(count) but \(lists.count - 1) recipient lists"))
        }
        for list in lists.dropFirst() { try request.addRecipient(list, peer: peer) }
        return request
    }
}

/// The agent's reply: its hop status and whether anything must be retried.
public struct DeliveryReply: Equatable, Sendable {
    /// Non-empty status only when the whole destination should be avoided for a while.
    public var hopStatus: DSN
    /// 0: every recipient is final; otherwise (normally -1) something is to be retried.
    public var status: Int

    public init(hopStatus: DSN = DSN(), status: Int) {
        self.hopStatus = hopStatus
        self.status = status
    }

    public var list: AttrList { AttrList(hopStatus.items + [.int("status", status)]) }

    public static func decode(_ list: AttrList, peer: String) throws(AttrError) -> DeliveryReply {
        var s = AttrScanner(list, peer: peer)
        let hop = try DSN.scan(&s)
        let status = try s.signedInt("status")
        try s.finish()
        return DeliveryReply(hopStatus: hop, status: status)
    }
}
