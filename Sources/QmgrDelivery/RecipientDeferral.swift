// RecipientDeferral: how stock qmgr defers recipients it will not hand to
// an agent (a dead destination or transport, reference 4.9/4.10):
// - normally it moves the entries to the `retry` transport with nexthop
//   "<status> <reason>" (`retryNexthop`), and error(8) running as retry
//   writes the defer-log entries asynchronously: that is a scheduler move;
// - only when `retry` itself is throttled it defers each recipient
//   synchronously here (stock's defer_append from inside qmgr).
//
// `deferRecipient` does what defer_append does, as stock routes it by the
// message's trace flags:
// - the DSN status must be a valid 4.x.y code, else it becomes 4.0.0 with
//   stock's warning;
// - address probe (MTA_VRFY): the verify service is told the address is
//   undeliverable (original and final address), unless
//   address_verify_negative_cache = no; status 0 when it took the update;
// - sendmail -bv (USR_VRFY): only a trace record (action "undeliverable");
//   status 0 when the trace service took it;
// - otherwise: a defer-log record through the defer service (action
//   "delayed"), the "status=deferred" recipient line, a trace record when
//   the message is traced (RECORD), and status -1 (deferred) whatever the
//   services answered (failures are warnings, as in stock).
// Each request is a new blocking connection bounded by the services'
// timeout (stock's mail_command_client). No delivery_status_filter applies:
// stock installs one only in delivery agents, never in qmgr. The fast-flush
// `add` request is the caller's: the result names the recipient's domain
// (`fastFlushSite`) to offer to flush(8) when it matches fast_flush_domains.
import MailQueue

public struct RecipientDeferral: Sendable {
    public var services: StatusServices
    public var log: QmgrLogLines
    /// address_verify_negative_cache.
    public var verifyNegativeCache: Bool

    public static let noRelay = "none"
    static let verifyProtocol = "address_verification_prrotocol"   // sic: stock's name
    static let verifyStatusDefer = 1

    public init(services: StatusServices, log: QmgrLogLines = QmgrLogLines(), verifyNegativeCache: Bool = true) {
        self.services = services
        self.log = log
        self.verifyNegativeCache = verifyNegativeCache
    }

    /// The nexthop of the `retry` transport queue that defers with `dsn`.
    public static func retryNexthop(_ dsn: DSN) -> ByteString {
        ByteString(dsn.status.bytes + [0x20] + dsn.reason.bytes)
    }

    public struct Result: Equatable, Sendable {
        /// OR-ed into the message's defer flag by the caller (-1: deferred, 0: finished).
        public var status: Int
        public var info: [String] = []
        public var warnings: [String] = []
        /// The recipient's domain, for a fast-flush `add` request.
        public var fastFlushSite: ByteString?
    }

    public func deferRecipient(queueID: String, traceFlags: Int, stats: MessageStats, recipient: QueuedRecipient,
                               dsn: DSN, now: MessageStats.Time) -> Result {
        var result = Result(status: -1)
        var d = dsn
        if d.status.bytes.first != UInt8(ascii: "4") || !DSNCode.isValid(d.status) {
            result.warnings.append("defer_append: ignoring dsn code \"\(d.status)\"")
            d.status = "4.0.0"
        }
        if traceFlags & DeliveryFlags.mtaVerify != 0 {
            d.action = "undeliverable"
            result.status = verifyUpdate(queueID, stats, recipient, d, now, into: &result)
            return result
        }
        if traceFlags & DeliveryFlags.userVerify != 0 {
            d.action = "undeliverable"
            result.status = traceAppend(queueID, traceFlags, stats, recipient, d, now, into: &result)
            return result
        }
        d.action = "delayed"
        let append = StatusAppendRequest(flags: traceFlags, queueID: ByteString(queueID), recipient: recipient, dsn: d)
        if request(append.list, service: services.defer) != 0 {
            result.warnings.append("\(queueID): \(services.defer) service failure")
        }
        result.info.append(log.recipient(queueID, stats: stats, recipient: recipient, relay: Self.noRelay, dsn: d,
                                         status: "deferred", now: now))
        if traceFlags & DeliveryFlags.record != 0, traceAppend(queueID, traceFlags, stats, recipient, d, now, into: &result) != 0 {
            result.warnings.append("\(queueID): \(services.trace) service failure")
        }
        if let at = recipient.address.bytes.lastIndex(of: UInt8(ascii: "@")), at + 1 < recipient.address.count {
            result.fastFlushSite = ByteString(recipient.address.bytes[(at + 1)...])
        }
        return result
    }

    /// trace_append: the reason names the relay unless there was none; -bv logs the recipient.
    private func traceAppend(_ queueID: String, _ flags: Int, _ stats: MessageStats, _ recipient: QueuedRecipient,
                             _ dsn: DSN, _ now: MessageStats.Time, into result: inout Result) -> Int {
        let append = StatusAppendRequest(flags: flags, queueID: ByteString(queueID), recipient: recipient, dsn: dsn)
        guard request(append.list, service: services.trace) == 0 else {
            result.warnings.append("\(queueID): \(services.trace) service failure")
            return -1
        }
        if flags & DeliveryFlags.userVerify != 0 {
            result.info.append(log.recipient(queueID, stats: stats, recipient: recipient, relay: Self.noRelay, dsn: dsn,
                                             status: dsn.action.description, now: now))
        }
        return 0
    }

    /// verify_append for a deferred probe: original address, then the final one if different.
    private func verifyUpdate(_ queueID: String, _ stats: MessageStats, _ recipient: QueuedRecipient, _ dsn: DSN,
                              _ now: MessageStats.Time, into result: inout Result) -> Int {
        var action = dsn.action
        var ok = true
        if verifyNegativeCache {
            if !recipient.originalRecipient.isEmpty { ok = verifyRequest(recipient.originalRecipient, dsn.reason) }
            if ok && recipient.address != recipient.originalRecipient { ok = verifyRequest(recipient.address, dsn.reason) }
        } else {
            action = "undeliverable-but-not-cached"
        }
        guard ok else {
            result.warnings.append("\(queueID): \(services.verify) service failure")
            return -1
        }
        result.info.append(log.recipient(queueID, stats: stats, recipient: recipient, relay: Self.noRelay, dsn: dsn,
                                         status: action.description, now: now))
        return 0
    }

    private func verifyRequest(_ address: ByteString, _ reason: ByteString) -> Bool {
        let client = ServiceClient(path: services.path(services.verify), peer: "private/" + services.verify,
                                   protocolName: Self.verifyProtocol, timeout: services.timeout)
        defer { client.disconnect() }
        let list = AttrList([.string("request", "update"), .string("address", address),
                             .int("recipient_status", Self.verifyStatusDefer), .string("reason", reason)])
        guard let reply = try? client.exchange(list) else { return false }
        var scanner = AttrScanner(reply, peer: client.peer, strict: false)
        return (try? scanner.signedInt("status")) == 0
    }

    /// One request on a new connection; -1 when the service could not be reached or misbehaved.
    private func request(_ list: AttrList, service: String) -> Int {
        (try? StatusServiceClient.request(list, service: service, queueDirectory: services.queueDirectory,
                                          timeout: services.timeout)) ?? -1
    }
}
