// MessageLoader: loading a message that was just moved into the active
// queue, and refilling it with its next recipient batch, in stock qmgr's
// steps:
// - load: open read-write with an exclusive non-blocking lock (held by an
//   agent: `locked`); read the envelope and the first batch of at most
//   `recipientLimit` recipients (a damaged file: `corrupt`, for the caller
//   to save to corrupt/); clear the group-read bit a flush set; a
//   force-expired message with a non-empty defer log gets no deliveries;
//   otherwise the previous defer log is removed, and the batch is sorted,
//   routed (RecipientRouting) and sorted again; the file is closed;
// - refill: the same without the lock, the mode change and the defer log,
//   continuing where the previous batch ended.
// trivial-rewrite being unreachable is `resolverFailed` (stock blocks and
// retries; the caller decides): the file stays in active, closed.
// System errors stock treats as fatal are thrown; damaged bytes never trap.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public enum LoadOutcome {
    case loaded(LoadedMessage, RoutedBatch)
    /// Another process holds the lock: stock logs `logLine` (info) and
    /// moves the file back to incoming with its times 60 s ahead.
    case locked(logLine: String)
    /// The file vanished (stock's warning).
    case vanished(warning: String)
    /// The envelope is unusable; stock moves the file to corrupt. Stock had
    /// already logged `openedLogLine` when the damage came after the sender.
    case corrupt(QueueFileError, openedLogLine: String?)
    /// trivial-rewrite failed; nothing was routed.
    case resolverFailed(AttrError)
}

public enum RefillOutcome {
    case loaded(RoutedBatch)
    case vanished(warning: String)
    case corrupt(QueueFileError)
    case resolverFailed(AttrError)
}

public struct MessageLoader {
    public let store: QueueStore
    public let resolver: TrivialRewriteClient
    public var settings: LoadSettings
    /// Seconds and microseconds since the epoch (gettimeofday unless a test says otherwise).
    var clock: () -> MessageStats.Time

    public init(store: QueueStore, resolver: TrivialRewriteClient, settings: LoadSettings) {
        self.store = store
        self.resolver = resolver
        self.settings = settings
        clock = {
            var tv = timeval()
            gettimeofday(&tv, nil)
            return MessageStats.Time(seconds: Int(tv.tv_sec), microseconds: Int(tv.tv_usec))
        }
    }

    /// Loads `candidate` (already in active). `recipientLimit`: the batch size
    /// stock computes (at most 5000); `pendingProbes`: verification probes
    /// already in memory.
    public func load(_ candidate: ActiveCandidate, recipientLimit: Int, pendingProbes: Int) throws(QueueStoreError) -> LoadOutcome {
        let file: ActiveQueueFile
        switch try ActiveQueueFile.open(candidate.id, in: store, lock: true) {
        case .opened(let f): file = f
        case .locked: return .locked(logLine: "\(candidate.id): skipped, still being delivered")
        case .missing(let warning): return .vanished(warning: warning)
        }
        defer { file.close() }
        var envelope = Envelope()
        let batch: EnvelopeBatch
        do {
            var reader = try file.reader()
            batch = try envelope.load(from: &reader, recipientLimit: recipientLimit, verpFilter: settings.verpFilter)
        } catch {
            return .corrupt(error, openedLogLine: OpenedLogLine.forDamaged(file, external: settings.logExternalForm))
        }
        if let mode = candidate.modeAfterLoad { try file.setMode(mode) }
        var traceFlags = envelope.traceFlags
        if settings.confirmDelayCleared && envelope.warningTime < 0 { traceFlags |= DeliveryFlags.recordDelaySent }
        var message = LoadedMessage(
            id: candidate.id, path: file.name, flags: candidate.flags, activeArrival: clock(), envelope: envelope,
            traceFlags: traceFlags,
            openedLogLine: OpenedLogLine.text(id: candidate.id, sender: envelope.sender ?? .empty,
                                              size: envelope.contentLength, recipients: envelope.unreadRecipientsAtSender,
                                              external: settings.logExternalForm))
        if candidate.flags.contains(.forceExpire), let size = try store.size(of: candidate.id, in: .defer), size > 0 {
            message.expiresWithDeferLog = true
            var routed = RoutedBatch()
            routed.warnings = batch.warnings
            return .loaded(message, routed)
        }
        try store.remove(candidate.id, from: .defer)
        let probes = pendingProbes + (message.isVerificationProbe ? 1 : 0)
        do {
            let routed = try route(batch, of: &message, pendingProbes: probes)
            return .loaded(message, routed)
        } catch {
            return .resolverFailed(error)
        }
    }

    /// Reads and routes the next batch of `message` (which must have unread recipients).
    public func refill(_ message: inout LoadedMessage, recipientLimit: Int,
                       pendingProbes: Int) throws(QueueStoreError) -> RefillOutcome {
        let file: ActiveQueueFile
        switch try ActiveQueueFile.open(message.id, in: store, lock: false) {
        case .opened(let f): file = f
        case .locked: preconditionFailure("no lock was asked for")
        case .missing(let warning): return .vanished(warning: warning)
        }
        defer { file.close() }
        var envelope = message.envelope
        let batch: EnvelopeBatch
        do {
            var reader = try file.reader()
            batch = try envelope.load(from: &reader, recipientLimit: recipientLimit, verpFilter: settings.verpFilter)
        } catch {
            return .corrupt(error)
        }
        var updated = message
        updated.envelope = envelope
        do {
            let routed = try route(batch, of: &updated, pendingProbes: pendingProbes)
            message = updated
            return .loaded(routed)
        } catch {
            return .resolverFailed(error)
        }
    }

    /// Sorts, routes and sorts `batch` as stock does.
    private func route(_ batch: EnvelopeBatch, of message: inout LoadedMessage,
                       pendingProbes: Int) throws(AttrError) -> RoutedBatch {
        if message.envelope.redirectAddress != nil { message.envelope.abandonUnreadRecipients() }
        let routing = RecipientRouting(settings: settings, resolver: resolver, message: message, pendingProbes: pendingProbes)
        var result = RoutedBatch()
        result.warnings = batch.warnings
        let sorted = batch.recipients.sorted(by: RecipientOrder.precedes)
        for (i, recipient) in sorted.enumerated() {
            switch try routing.route(recipient, isFirst: i == 0) {
            case .routed(let r): result.routed.append(r)
            case .discarded(let r): result.discarded.append(r)
            case .unassigned(let r): result.unassigned.append(r)
            }
        }
        result.routed.sort(by: RecipientOrder.precedes)
        return result
    }
}
