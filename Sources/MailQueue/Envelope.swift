// Envelope: what a queue manager knows about a queue file after reading its
// envelope and extracted segments (never its content), and the recipients
// it reads in batches. The rules are those of Postfix 3.7's qmgr:
// - records allowed: REC_TYPE_ENVELOPE + REC_TYPE_EXTRACT; after skipping the
//   content by the SIZE record's offset and size, only X; anything else
//   rejects the file; pointer records are followed; E is required;
// - first wins: T, create_time, S, W, trace_flags, sasl_*, log_ident,
//   rewrite_context; last wins: L, I, >, envelope_id, ret_flags, encoding;
//   log_client_* override the legacy client_* names;
// - O, dsn_orig_rcpt and notify_flags belong to the next R and are cleared
//   at every R, D and /; a recipient's identity is its R record's offset;
// - a batch ends after `recipientLimit` recipients: the offset after the last
//   one is kept and the next `load` continues there (refill);
// - payload text ends at its first NUL byte, as it does for stock's C strings.
// Problems stock only warns about are returned as EnvelopeWarning values
// for the caller to log; problems that make stock reject the file are a
// thrown QueueFileError. Configuration-dependent extras of qmgr (the
// delay-cleared trace flag, verify counters, the "queue active" log line)
// are left to the caller.

public struct QueuedRecipient: Equatable, Sendable {
    /// Offset of the R record's type byte: the recipient's identity in every protocol.
    public var offset: Int
    public var address: ByteString
    /// The O record before it, empty when none.
    public var originalRecipient: ByteString
    /// DSN ORCPT ("type;address"), empty when none.
    public var dsnOriginalRecipient: ByteString
    /// DSN NOTIFY bits (NEVER 1, SUCCESS 2, FAILURE 4, DELAY 8), 0 when none.
    public var dsnNotify: Int

    public init(offset: Int, address: ByteString, originalRecipient: ByteString = .empty,
                dsnOriginalRecipient: ByteString = .empty, dsnNotify: Int = 0) {
        self.offset = offset
        self.address = address
        self.originalRecipient = originalRecipient
        self.dsnOriginalRecipient = dsnOriginalRecipient
        self.dsnNotify = dsnNotify
    }
}

public struct Envelope: Equatable, Sendable {
    public internal(set) var size: SizeRecord?
    public internal(set) var arrivalSeconds = 0
    public internal(set) var arrivalMicroseconds = 0
    var recordedCreateTime = 0
    public internal(set) var sender: ByteString?
    public internal(set) var filterTransport: ByteString?
    public internal(set) var inspectTransport: ByteString?
    public internal(set) var redirectAddress: ByteString?
    var recordedEnvelopeID: ByteString?
    /// DSN RET (1 FULL, 2 HDRS), 0 when not requested.
    public internal(set) var dsnRet = 0
    var recordedEncoding: ByteString?
    var client = ClientAttributes()
    var sasl = SASLAttributes()
    var recordedLogIdent: ByteString?
    var recordedRewriteContext: ByteString?
    /// trace_flags masked to MTA_VRFY|USR_VRFY|RECORD|REC_DLY_SENT.
    public internal(set) var traceFlags = 0
    /// Offset of the trace_flags record when its value is exactly RECORD (killed after the report).
    public internal(set) var traceFlagsOffset: Int?
    /// Next delay-warning time (<= 0: none, -1: sent) and where its W record is.
    public internal(set) var warningTime = 0
    public internal(set) var warningOffset: Int?
    public internal(set) var verpDelimiters: ByteString?
    /// Recipients not yet read; starts at the SIZE record's count.
    public internal(set) var unreadRecipients = 0
    /// `unreadRecipients` when the sender record was read: the nrcpt of
    /// qmgr's "(queue active)" log line.
    public internal(set) var unreadRecipientsAtSender = 0
    /// Where the next batch starts; nil when every recipient has been read.
    public internal(set) var refillOffset: Int?
    /// All non-recipient records have been examined.
    public internal(set) var seenAllNonRecipientRecords = false

    public init() {}

    /// Forgets the recipients not read yet: no refill will follow (a queue
    /// manager does this for a REDIRECT message, which goes to one address).
    public mutating func abandonUnreadRecipients() {
        refillOffset = nil
        unreadRecipients = 0
    }

    struct ClientAttributes: Equatable, Sendable {
        var name: ByteString?, address: ByteString?, port: ByteString?, protocolName: ByteString?, helo: ByteString?
        var fromLogAttributes = false
    }

    struct SASLAttributes: Equatable, Sendable {
        var method: ByteString?, username: ByteString?, sender: ByteString?
    }

    // MARK: values with stock's defaults

    public var dataOffset: Int { size?.dataOffset ?? 0 }
    public var dataSize: Int { size?.dataSize ?? 0 }
    /// Content length for delivery requests: SIZE field 5, or field 1 when 0.
    public var contentLength: Int { size?.effectiveContentLength ?? 0 }
    /// create_time attribute, else the arrival seconds.
    public var createTime: Int { recordedCreateTime != 0 ? recordedCreateTime : arrivalSeconds }
    public var envelopeID: ByteString { recordedEnvelopeID ?? .empty }
    public var encoding: ByteString { recordedEncoding ?? .empty }
    public var clientName: ByteString { client.name ?? .empty }
    public var clientAddress: ByteString { client.address ?? .empty }
    public var clientPort: ByteString { client.port ?? .empty }
    public var clientProtocol: ByteString { client.protocolName ?? .empty }
    public var clientHelo: ByteString { client.helo ?? .empty }
    public var saslMethod: ByteString { sasl.method ?? .empty }
    public var saslUsername: ByteString { sasl.username ?? .empty }
    public var saslSender: ByteString { sasl.sender ?? .empty }
    public var logIdent: ByteString { recordedLogIdent ?? .empty }
    public var rewriteContext: ByteString { recordedRewriteContext ?? "local" }

    /// Where the message came from, as delivery requests pass it on.
    public var origin: MessageOrigin {
        MessageOrigin(clientName: clientName, clientAddress: clientAddress, clientPort: clientPort,
                      clientProtocol: clientProtocol, clientHelo: clientHelo, saslMethod: saslMethod,
                      saslUsername: saslUsername, saslSender: saslSender, logIdent: logIdent,
                      rewriteContext: rewriteContext)
    }
}

/// The client, SASL and logging attributes of a message: recorded in the
/// queue file by cleanup, sent on to delivery agents for their logs.
public struct MessageOrigin: Equatable, Sendable {
    public var clientName: ByteString = .empty
    public var clientAddress: ByteString = .empty
    public var clientPort: ByteString = .empty
    public var clientProtocol: ByteString = .empty
    public var clientHelo: ByteString = .empty
    public var saslMethod: ByteString = .empty
    public var saslUsername: ByteString = .empty
    public var saslSender: ByteString = .empty
    public var logIdent: ByteString = .empty
    public var rewriteContext: ByteString = "local"

    public init(clientName: ByteString = .empty, clientAddress: ByteString = .empty, clientPort: ByteString = .empty,
                clientProtocol: ByteString = .empty, clientHelo: ByteString = .empty, saslMethod: ByteString = .empty,
                saslUsername: ByteString = .empty, saslSender: ByteString = .empty, logIdent: ByteString = .empty,
                rewriteContext: ByteString = "local") {
        self.clientName = clientName
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.clientProtocol = clientProtocol
        self.clientHelo = clientHelo
        self.saslMethod = saslMethod
        self.saslUsername = saslUsername
        self.saslSender = saslSender
        self.logIdent = logIdent
        self.rewriteContext = rewriteContext
    }
}

/// Something stock's qmgr logs as a warning and then ignores.
public struct EnvelopeWarning: Equatable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let kind: Kind

    public enum Kind: Equatable, Sendable {
        case outOfOrderDSNOriginalRecipient(ByteString)
        case outOfOrderDSNNotify(Int)
        case malformedDSNNotify(ByteString)
        case outOfOrderOriginalRecipient(ByteString)
        /// DSN ORCPT with no R after it before the end of the pass.
        case trailingDSNOriginalRecipient(ByteString)
        case malformedDSNRet(ByteString)
        case multipleAttribute(name: String, value: ByteString)
        case verpForNullSender
        case badVERP(ByteString)
        case recipientCountMismatch(Int)
    }

    /// Stock's wording (values cut to stock's widths), without the
    /// "<queue id>: " prefix the caller adds.
    public var description: String {
        func cut(_ v: ByteString, _ n: Int) -> String { ByteString(v.bytes.prefix(n)).description }
        switch kind {
        case .outOfOrderDSNOriginalRecipient(let a):
            return "ignoring out-of-order DSN original recipient address <\(cut(a, 200))>"
        case .outOfOrderDSNNotify(let n): return "ignoring out-of-order DSN notify flags <\(n)>"
        case .malformedDSNNotify(let v): return "ignoring malformed DSN notify flags <\(cut(v, 200))>"
        case .outOfOrderOriginalRecipient(let a): return "ignoring out-of-order original recipient <\(cut(a, 200))>"
        case .trailingDSNOriginalRecipient(let a): return "ignoring out-of-order DSN original recipient <\(cut(a, 200))>"
        case .malformedDSNRet(let v): return "ignoring malformed DSN RET flags in queue file record:\(cut(v, 100))"
        case .multipleAttribute(let name, let v): return "ignoring multiple \(name) attribute: \(v)"
        case .verpForNullSender: return "ignoring VERP request for null sender"
        case .badVERP(let v): return "ignoring bad VERP request: \"\(cut(v, 100))\""
        case .recipientCountMismatch(let n): return "rcpt count mismatch (\(n))"
        }
    }
}

/// One batch: the recipients read and the warnings seen.
public struct EnvelopeBatch: Equatable, Sendable {
    public var recipients: [QueuedRecipient] = []
    public var warnings: [EnvelopeWarning] = []
}
