// MessageCompletion: what stock qmgr does when every in-memory entry of a
// message is finished (reference 6.5, 5.12, 5.13), as a step machine the
// caller drives, so that the status-daemon requests can be asynchronous:
// `next()` does the quick synchronous parts itself (stat of the bounce
// log, the ready test, the K and W record edits) and stops at each
// request (`.request`: run it, e.g. with StatusRequestChannel, then
// `resume(status:)`) and at the end (`.finished(decision)`).
//
// Order and rules, as stock:
// 1. bounce/<id> (as hashed) empty: removed; non-empty: bounce flush to the
//    bounce service (VERP flush for a VERP message unless
//    disable_verp_bounces), its status OR-ed into the defer flag;
// 2. defer flag set and active/<id> no longer passes the ready test (an
//    agent marked it corrupt, or it vanished): `.moveToCorrupt`;
// 3. recipients not yet read: `.loadNextBatch` (the caller loads them; if
//    that yields no entries it completes again at once, passing the defer
//    flag on);
// 4. trace flags USR_VRFY, RECORD or REC_DLY_SENT, or some recipient with
//    NOTIFY=SUCCESS: trace flush (flags = the trace flags); on success the
//    trace_flags record of a `sendmail -v` message is killed (K); status
//    OR-ed into the defer flag;
// 5. defer flag set: expired when force-expired or now >= create_time +
//    maximal_queue_lifetime (bounce_queue_lifetime for the null sender):
//    stock's "status=expired, returned to sender" line, then defer flush
//    with DELRCPT (VERP variant as in 1) whose status *replaces* the defer
//    flag; else, with a WARN time > 0 and now >= WARN - 1: delay warning,
//    and on success the W record becomes -1;
// 6. defer flag still set: `.deferUntil(now + backoff)`; else `.remove`.
// The caller performs the decision (QmgrQueue: utime + rename to
// deferred, unlink, rename to corrupt) and logs `QmgrLogLines.removed`
// after a removal. Info lines (expiry; "<id>: status=deferred (<what>
// failed)" for a request that did not succeed, unless it had the CLEAN
// flag) collect in `info` in stock's order, warnings in `warnings`. A queue-file edit or log removal that fails ends
// in `.fatal` with stock's text, as it ends stock's process.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

/// What completion needs to know about the message (from its envelope and the deliveries).
public struct CompletedMessage: Equatable, Sendable {
    public var queueID: QueueID
    public var sender: ByteString
    public var encoding: ByteString = .empty
    public var smtputf8: Int = 0
    public var envelopeID: ByteString = .empty
    public var dsnRet: Int = 0
    public var verpDelimiters: ByteString?
    /// The message's trace flags (DeliveryFlags: USR_VRFY, RECORD, REC_DLY_SENT, MTA_VRFY).
    public var traceFlags: Int = 0
    /// The trace_flags record to kill after a successful trace report (sendmail -v only).
    public var traceFlagsOffset: Int?
    /// The W record's time (<= 0: none or sent) and where it is.
    public var warningTime: Int = 0
    public var warningOffset: Int?
    public var createTime: Int
    /// The file was force-expired (postsuper -e / -f).
    public var forceExpired = false
    /// Some recipient read so far asked for NOTIFY=SUCCESS.
    public var notifySuccess = false
    /// Recipients remain in the file that have not been read yet.
    public var hasUnreadRecipients = false
    /// Some recipient must be retried (stock's message flags, from the verdicts and deferrals).
    public var deferred = false

    public init(queueID: QueueID, sender: ByteString, createTime: Int) {
        self.queueID = queueID
        self.sender = sender
        self.createTime = createTime
    }

    /// The message-level facts from its envelope pass; the caller adds force-expiry,
    /// NOTIFY=SUCCESS, unread recipients and the defer flag.
    public init(envelope: Envelope, queueID: QueueID) {
        self.init(queueID: queueID, sender: envelope.sender ?? .empty, createTime: envelope.createTime)
        encoding = envelope.encoding
        smtputf8 = envelope.size?.smtputf8 ?? 0
        envelopeID = envelope.envelopeID
        dsnRet = envelope.dsnRet
        verpDelimiters = envelope.verpDelimiters
        traceFlags = envelope.traceFlags
        traceFlagsOffset = envelope.traceFlagsOffset
        warningTime = envelope.warningTime
        warningOffset = envelope.warningOffset
        hasUnreadRecipients = envelope.refillOffset != nil
    }
}

/// The settings completion reads.
public struct CompletionPolicy: Equatable, Sendable {
    /// maximal_queue_lifetime, bounce_queue_lifetime (seconds).
    public var maximalQueueLifetime: Int
    public var bounceQueueLifetime: Int
    public var backoff: RetryBackoff
    /// disable_verp_bounces.
    public var disableVerpBounces: Bool

    public init(maximalQueueLifetime: Int = 5 * 86400, bounceQueueLifetime: Int = 5 * 86400,
                backoff: RetryBackoff = RetryBackoff(), disableVerpBounces: Bool = false) {
        self.maximalQueueLifetime = maximalQueueLifetime
        self.bounceQueueLifetime = bounceQueueLifetime
        self.backoff = backoff
        self.disableVerpBounces = disableVerpBounces
    }
}

public enum CompletionDecision: Equatable, Sendable {
    /// Every recipient is finished: remove active/<id>, then log `QmgrLogLines.removed`.
    case remove
    /// Set atime and mtime to `until`, then rename active -> deferred.
    case deferUntil(Int)
    /// Rename active -> corrupt (a vanished file: ENOENT, dropped silently).
    case moveToCorrupt
    /// Read the next batch of recipients; if it yields no entries, complete again with `deferred`.
    case loadNextBatch(deferred: Bool)
    /// Stock ends the process with this text.
    case fatal(String)
}

public enum CompletionStep: Equatable, Sendable {
    /// Send this request to `service`, then call `resume(status:)` with its status (-1: failed).
    case request(StatusNoticeRequest, service: String)
    case finished(CompletionDecision)
}

public final class MessageCompletion {
    public let message: CompletedMessage
    public let policy: CompletionPolicy
    public let services: StatusServices
    public let hashing: QueueHashing
    public let log: QmgrLogLines
    /// The event loop's time (seconds) for the expiry, warning and backoff tests.
    public let now: Int
    public private(set) var deferred: Bool
    public private(set) var info: [String] = []
    public private(set) var warnings: [String] = []
    private var stage = Stage.bounceLog
    private var waiting: (pending: Pending, request: StatusNoticeRequest)?
    private var fatal: String?

    private enum Stage { case bounceLog, readyTest, traceFlush, expiry, decide, done }
    private enum Pending { case bounceFlush, traceFlush, expiryFlush, delayWarning }

    public init(_ message: CompletedMessage, policy: CompletionPolicy, services: StatusServices,
                hashing: QueueHashing = .stockDefault, log: QmgrLogLines = QmgrLogLines(), now: Int) {
        self.message = message
        self.policy = policy
        self.services = services
        self.hashing = hashing
        self.log = log
        self.now = now
        deferred = message.deferred
    }

    /// Runs until the next request or the decision. Call again after `resume`.
    public func next() -> CompletionStep {
        precondition(waiting == nil, "MessageCompletion.next() before resume(status:)")
        while true {
            if let text = fatal { return finish(.fatal(text)) }
            switch stage {
            case .bounceLog:
                stage = .readyTest
                if let size = bounceLogSize() {
                    if size > 0 {
                        return ask(.bounceFlush, notice(useVERP ? .verp : .flush, flags: 0), service: services.bounce)
                    }
                    removeEmptyBounceLog()
                }
            case .readyTest:
                if deferred && !activeFileIsReady() { return finish(.moveToCorrupt) }
                if message.hasUnreadRecipients { return finish(.loadNextBatch(deferred: deferred)) }
                stage = .traceFlush
            case .traceFlush:
                stage = .expiry
                let traced = DeliveryFlags.userVerify | DeliveryFlags.record | DeliveryFlags.recordDelaySent
                if message.traceFlags & traced != 0 || message.notifySuccess {
                    return ask(.traceFlush, notice(.trace, flags: message.traceFlags), service: services.trace)
                }
            case .expiry:
                stage = .decide
                guard deferred else { continue }
                if let expired = expiry() {
                    info.append(log.expired(message.queueID.text, sender: message.sender, forced: expired == .forced))
                    return ask(.expiryFlush, notice(useVERP ? .verp : .flush, flags: StatusNoticeFlags.deleteRecipients),
                               service: services.defer)
                }
                if message.warningTime > 0 && now >= message.warningTime - 1 {
                    return ask(.delayWarning, notice(.warn, flags: 0), service: services.defer)
                }
            case .decide:
                return finish(deferred ? .deferUntil(policy.backoff.wakeup(createTime: message.createTime, now: now))
                                       : .remove)
            case .done:
                preconditionFailure("MessageCompletion.next() after the decision")
            }
        }
    }

    /// The status of the request `next()` returned (0: done; non-zero, -1 for a failed request).
    public func resume(status: Int) {
        guard let (pending, request) = waiting else { preconditionFailure("MessageCompletion.resume without a request") }
        waiting = nil
        if status != 0 && request.flags & StatusNoticeFlags.clean == 0 {
            info.append(QmgrLogLines.statusRequestFailed(message.queueID.text, request.command))
        }
        switch pending {
        case .bounceFlush:
            deferred = deferred || status != 0
        case .traceFlush:
            if status == 0, let offset = message.traceFlagsOffset {
                edit { (e: QueueFileEditor) throws(QueueFileError) in try e.kill(recordAt: offset) }
            }
            deferred = deferred || status != 0
        case .expiryFlush:
            deferred = status != 0
        case .delayWarning:
            if status == 0, let offset = message.warningOffset {
                edit { (e: QueueFileEditor) throws(QueueFileError) in try e.updateWarningTime(recordAt: offset, to: -1) }
            }
        }
    }

    // MARK: pieces

    private enum Expiry { case forced, aged }

    private func expiry() -> Expiry? {
        if message.forceExpired { return .forced }
        let lifetime = message.sender.isEmpty ? policy.bounceQueueLifetime : policy.maximalQueueLifetime
        return now >= message.createTime + lifetime ? .aged : nil
    }

    private var useVERP: Bool { message.verpDelimiters != nil && !policy.disableVerpBounces }

    private func notice(_ command: StatusCommand, flags: Int) -> StatusNoticeRequest {
        StatusNoticeRequest(command: command, flags: flags, queueName: ByteString(QueueName.active.text),
                            queueID: ByteString(message.queueID.text), encoding: message.encoding,
                            smtputf8: message.smtputf8, sender: message.sender, envelopeID: message.envelopeID,
                            dsnRet: message.dsnRet, verpDelimiters: command == .verp ? message.verpDelimiters : nil)
    }

    private func ask(_ pending: Pending, _ request: StatusNoticeRequest, service: String) -> CompletionStep {
        waiting = (pending, request)
        return .request(request, service: service)
    }

    private func finish(_ decision: CompletionDecision) -> CompletionStep {
        stage = .done
        return .finished(decision)
    }

    private func path(_ queue: QueueName) -> String {
        services.queueDirectory + "/" + hashing.path(of: message.queueID, in: queue)
    }

    /// Size of the bounce log, nil when there is none (or it cannot be examined).
    private func bounceLogSize() -> Int? {
        var st = stat()
        return stat(path(.bounce), &st) == 0 ? Int(st.st_size) : nil
    }

    /// An empty bounce log means a failed append (the agent deferred instead): drop it.
    private func removeEmptyBounceLog() {
        if unlink(path(.bounce)) != 0 {
            fatal = "remove \(QueueName.bounce.text) \(message.queueID.text): \(SystemErrno(errno))"
        }
    }

    /// Stock's ready test (mail_open_ok) on active/<id>.
    private func activeFileIsReady() -> Bool {
        let file = path(.active)
        var st = stat()
        guard lstat(file, &st) == 0 else {
            if errno != ENOENT { warnings.append("\(hashing.path(of: message.queueID, in: .active)): \(SystemErrno(errno))") }
            return false
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            warnings.append("\(hashing.path(of: message.queueID, in: .active)): uid \(st.st_uid): not a regular file")
            return false
        }
        return st.st_mode & S_IRWXU == S_IRWXU
    }

    /// One in-place edit of active/<id>; a failure is stock's fatal "update queue file" error.
    private func edit(_ change: (QueueFileEditor) throws(QueueFileError) -> Void) {
        let name = hashing.path(of: message.queueID, in: .active)
        let fd = open(path(.active), O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            fatal = "update queue file \(name): \(SystemErrno(errno))"
            return
        }
        defer { close(fd) }
        do {
            try change(QueueFileEditor(descriptor: fd, name: name))
        } catch {
            fatal = "update queue file \(name): \(error)"
        }
    }
}
