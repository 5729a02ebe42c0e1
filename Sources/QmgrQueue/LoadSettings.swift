// LoadSettings: the main.cf values that decide how a loaded message's
// recipients are routed (all with stock's defaults except those the caller
// must know: myhostname and the per-transport recipient limits), and the
// one piece of queue-manager state routing reads: how many address
// verification probes are in memory. Nothing here reads main.cf; the caller
// supplies values it has already parsed and validated.
import MailQueue

public struct LoadSettings {
    /// myhostname: the filter nexthop of last resort.
    public var myhostname: ByteString
    /// default_filter_nexthop.
    public var defaultFilterNexthop: ByteString = .empty
    /// defer_transports, split on commas and white space.
    public var deferTransports: [ByteString] = []
    /// double_bounce_sender.
    public var doubleBounceSender: ByteString = "double-bounce"
    /// recipient_delimiter (a set of characters; empty: none).
    public var recipientDelimiter: ByteString = .empty
    /// owner_request_special.
    public var ownerRequestSpecial = true
    /// confirm_delay_cleared.
    public var confirmDelayCleared = false
    /// address_verify_pending_request_limit.
    public var verifyPendingLimit = 5000
    /// verp_delimiter_filter.
    public var verpFilter = "-=+"
    /// info_log_address_format = external (the default) rather than internal.
    public var logExternalForm = true
    /// `<transport>_destination_recipient_limit` (else the default's): only
    /// whether it is exactly 1 matters here.
    public var destinationRecipientLimit: (ByteString) -> Int

    public init(myhostname: ByteString, destinationRecipientLimit: @escaping (ByteString) -> Int) {
        self.myhostname = myhostname
        self.destinationRecipientLimit = destinationRecipientLimit
    }

    /// defer_transports as main.cf writes it.
    public static func splitList(_ text: String) -> [ByteString] {
        let separators: Set<UInt8> = [0x2C, 0x20, 0x09, 0x0D, 0x0A]
        return text.utf8.split(whereSeparator: { separators.contains($0) }).map { ByteString(Array($0)) }
    }
}
