// QmgrLogLines: the lines stock qmgr logs about messages and recipients,
// word for word, as text the caller hands to its logger (program name and
// severity are the logger's). Warnings are returned without "warning: ".
//
// - "<id>: removed" (also postsuper's form);
// - "<id>: from=<sender>, status=expired, returned to sender" (or force-expired);
// - "<id>: status=deferred (<what> failed)" for a failed bounce, delay
//   warning, verp or trace request;
// - a recipient line (log_adhoc): "<id>: to=<rcpt>[, orig_to=<orig>],
//   relay=<relay>[, conn_use=<n>], delay=<d>, delays=<a>/<b>/<c>/<d>,
//   dsn=<x.y.z>, status=<status> (<reason>)", delays measured from the
//   message's MSG_STATS against `now` (or the agent's deliver_done).
//   orig_to is left out when it equals the recipient ignoring ASCII case
//   (stock folds UTF-8 case too: non-ASCII case differences log orig_to here).
import MailQueue

public struct QmgrLogLines: Sendable {
    public var addressForm: LogAddressForm
    /// delay_logging_resolution_limit.
    public var delayResolution: Int

    public init(addressForm: LogAddressForm = .external, delayResolution: Int = 2) {
        self.addressForm = addressForm
        self.delayResolution = delayResolution
    }

    public static func removed(_ queueID: String) -> String { "\(queueID): removed" }

    public func expired(_ queueID: String, sender: ByteString, forced: Bool) -> String {
        "\(queueID): from=<\(addressForm.format(sender))>, status=\(forced ? "force-expired" : "expired"), returned to sender"
    }

    /// The line for a status request that did not succeed.
    public static func statusRequestFailed(_ queueID: String, _ command: StatusCommand) -> String {
        let what: String
        switch command {
        case .flush: what = "bounce"
        case .warn: what = "delay warning"
        case .verp: what = "verp"
        case .trace: what = "trace"
        default: what = "whatever"
        }
        return "\(queueID): status=deferred (\(what) failed)"
    }

    public func recipient(_ queueID: String, stats: MessageStats, recipient: QueuedRecipient, relay: String,
                          dsn: DSN, status: String, now: MessageStats.Time) -> String {
        var line = "\(queueID): to=<\(addressForm.format(recipient.address))>"
        if !recipient.originalRecipient.isEmpty && !QmgrLogLines.equalIgnoringASCIICase(recipient.address, recipient.originalRecipient) {
            line += ", orig_to=<\(addressForm.format(recipient.originalRecipient))>"
        }
        line += ", relay=\(relay)"
        if stats.reuseCount > 0 { line += ", conn_use=\(stats.reuseCount + 1)" }
        let d = delays(stats, now: now)
        line += ", delay=" + text(d.total) + ", delays=" + [d.beforeQueue, d.inQueue, d.setup, d.transmission].map(text).joined(separator: "/")
        line += ", dsn=\(dsn.status), status=\(status) (\(dsn.reason))"
        return line
    }

    // MARK: delays

    struct Delays {
        var total = MessageStats.Time(), beforeQueue = MessageStats.Time(), inQueue = MessageStats.Time()
        var setup = MessageStats.Time(), transmission = MessageStats.Time()
    }

    /// Which intervals exist depends on which time stamps were taken (0 = not taken).
    func delays(_ s: MessageStats, now clock: MessageStats.Time) -> Delays {
        let now = s.deliverDone.seconds > 0 ? s.deliverDone : clock
        var d = Delays()
        d.total = difference(now, s.incomingArrival)
        guard s.activeArrival.seconds > 0 else {
            d.beforeQueue = difference(now, s.incomingArrival)
            return d
        }
        d.beforeQueue = difference(s.activeArrival, s.incomingArrival)
        guard s.agentHandoff.seconds > 0 else {
            d.inQueue = difference(now, s.activeArrival)
            return d
        }
        d.inQueue = difference(s.agentHandoff, s.activeArrival)
        if s.connectionSetupDone.seconds > 0 {
            d.setup = difference(s.connectionSetupDone, s.agentHandoff)
            d.transmission = difference(now, s.connectionSetupDone)
        } else {
            d.transmission = difference(now, s.agentHandoff)
        }
        return d
    }

    /// a - b, never negative.
    func difference(_ a: MessageStats.Time, _ b: MessageStats.Time) -> MessageStats.Time {
        var sec = a.seconds - b.seconds, usec = a.microseconds - b.microseconds
        while usec < 0 { usec += 1_000_000; sec -= 1 }
        while usec >= 1_000_000 { usec -= 1_000_000; sec += 1 }
        return sec < 0 ? MessageStats.Time() : MessageStats.Time(seconds: sec, microseconds: usec)
    }

    func text(_ t: MessageStats.Time) -> String {
        DelayText.format(seconds: t.seconds, microseconds: t.microseconds, resolution: delayResolution)
    }

    static func equalIgnoringASCIICase(_ a: ByteString, _ b: ByteString) -> Bool {
        func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
        return a.count == b.count && zip(a.bytes, b.bytes).allSatisfy { lower($0) == lower($1) }
    }
}
