// StatusRequests: the requests of the bounce, defer and trace services
// ("delivery_status_protocol", bounce(8)), each one list answered by one
// list with an INT `status` (0 = done):
// - notices about a whole message (bounce_flush, bounce_flush_verp,
//   defer_flush, defer_warn, trace_flush): nrequest, flags, queue_name,
//   queue_id, encoding, smtputf8, sender, envelope_id, ret_flags, and for
//   VERP verp_delimiters;
// - one recipient's status appended to the message's log (bounce_append,
//   defer_append, trace_append): nrequest 0, flags, queue_id, the recipient
//   (as in delivery requests), then the DSN.
// Both encode and decode strictly; `StatusServiceClient` makes one request
// on a new connection as stock's mail_command_client does.

public enum StatusCommand: Int, Sendable {
    case append = 0, flush = 1, warn = 2, verp = 3, one = 4, trace = 5
}

/// Flags bounce(8) understands in notice requests.
public enum StatusNoticeFlags {
    /// Delete the log when the notice cannot be sent.
    public static let clean = 1
    /// Mark the logged recipients done in the queue file.
    public static let deleteRecipients = 2
}

public struct StatusNoticeRequest: Equatable, Sendable {
    public var command: StatusCommand
    public var flags: Int
    public var queueName: ByteString
    public var queueID: ByteString
    public var encoding: ByteString
    public var smtputf8: Int
    public var sender: ByteString
    public var envelopeID: ByteString
    public var dsnRet: Int
    /// Only for `.verp`.
    public var verpDelimiters: ByteString?

    public init(command: StatusCommand, flags: Int, queueName: ByteString = "active", queueID: ByteString,
                encoding: ByteString = .empty, smtputf8: Int = 0, sender: ByteString, envelopeID: ByteString = .empty,
                dsnRet: Int = 0, verpDelimiters: ByteString? = nil) {
        self.command = command
        self.flags = flags
        self.queueName = queueName
        self.queueID = queueID
        self.encoding = encoding
        self.smtputf8 = smtputf8
        self.sender = sender
        self.envelopeID = envelopeID
        self.dsnRet = dsnRet
        self.verpDelimiters = verpDelimiters
    }

    public var list: AttrList {
        var items: [AttrItem] = [.int("nrequest", command.rawValue), .int("flags", flags),
                                 .string("queue_name", queueName), .string("queue_id", queueID),
                                 .string("encoding", encoding), .int("smtputf8", smtputf8), .string("sender", sender),
                                 .string("envelope_id", envelopeID), .int("ret_flags", dsnRet)]
        if command == .verp { items.append(.string("verp_delimiters", verpDelimiters ?? .empty)) }
        return AttrList(items)
    }

    public static func decode(_ list: AttrList, peer: String) throws(AttrError) -> StatusNoticeRequest {
        var s = AttrScanner(list, peer: peer)
        let n = try s.signedInt("nrequest")
        guard let command = StatusCommand(rawValue: n), command != .append, command != .one else {
            throw AttrError(peer: peer, problem: .badReply("unexpected nrequest \(n) for a message notice"))
        }
        var r = StatusNoticeRequest(command: command, flags: try s.signedInt("flags"), queueName: try s.string("queue_name"),
                                    queueID: try s.string("queue_id"), encoding: try s.string("encoding"),
                                    smtputf8: try s.signedInt("smtputf8"), sender: try s.string("sender"),
                                    envelopeID: try s.string("envelope_id"), dsnRet: try s.signedInt("ret_flags"))
        if command == .verp { r.verpDelimiters = try s.string("verp_delimiters") }
        try s.finish()
        return r
    }
}

public struct StatusAppendRequest: Equatable, Sendable {
    /// The message's trace flags (DeliveryFlags).
    public var flags: Int
    public var queueID: ByteString
    public var recipient: QueuedRecipient
    public var dsn: DSN

    public init(flags: Int, queueID: ByteString, recipient: QueuedRecipient, dsn: DSN) {
        self.flags = flags
        self.queueID = queueID
        self.recipient = recipient
        self.dsn = dsn
    }

    public var list: AttrList {
        AttrList([.int("nrequest", StatusCommand.append.rawValue), .int("flags", flags), .string("queue_id", queueID)]
                 + recipient.items + dsn.items)
    }

    public static func decode(_ list: AttrList, peer: String) throws(AttrError) -> StatusAppendRequest {
        var s = AttrScanner(list, peer: peer)
        try s.expect("nrequest", equals: "0")
        let flags = try s.signedInt("flags")
        let queueID = try s.string("queue_id")
        let recipient = try QueuedRecipient.scan(&s)
        let r = StatusAppendRequest(flags: flags, queueID: queueID, recipient: recipient, dsn: try DSN.scan(&s))
        try s.finish()
        return r
    }
}

/// One request to bounce, defer or trace on a new connection: greeting,
/// request, `status` reply, close.
public enum StatusServiceClient {
    public static let protocolName = "delivery_status_protocol"

    /// `service`: bounce_service_name, defer_service_name or trace_service_name.
    /// Returns the service's status (0 = done).
    public static func request(_ list: AttrList, service: String, queueDirectory: String,
                               timeout: Double = 60) throws(AttrError) -> Int {
        let c = try AttrConnection(path: queueDirectory + "/private/" + service, peer: "private/" + service, timeout: timeout)
        defer { c.close() }
        try c.expectGreeting(protocolName)
        try c.send(list)
        var s = try c.receiveScanner()
        let status = try s.signedInt("status")
        try s.finish()
        return status
    }
}

/// One delivery request to an agent, blocking: connect to private/<transport>,
/// check the agent's greeting, send the request, read the reply, close
/// (which is what the agent waits for before it exits or takes the next).
public enum DeliveryAgentClient {
    public static func deliver(_ request: DeliveryRequest, transport: String, queueDirectory: String,
                               timeout: Double = 60) throws(AttrError) -> DeliveryReply {
        let peer = "private/" + transport
        let c = try AttrConnection(path: queueDirectory + "/" + peer, peer: peer, timeout: timeout)
        defer { c.close() }
        try c.expectGreeting(DeliveryRequest.protocolName)
        try c.send(bytes: request.encoded)
        return try DeliveryReply.decode(try c.receive(), peer: peer)
    }
}
