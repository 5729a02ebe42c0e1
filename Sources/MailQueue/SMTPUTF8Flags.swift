// SMTPUTF8Flags: the "smtputf8" bits of a delivery request (reference:
// queue-and-delivery, delivery requests). The queue file's SIZE record
// carries what cleanup saw (requested, header, sender); the queue manager
// adds, per request, that a recipient address needs SMTPUTF8, so that an
// agent can refuse or downgrade before it talks to a server that lacks it.
// Guarantees: the recipient bit is set only when smtputf8_enable is on and
// some recipient of the request is non-ASCII and valid UTF-8 (bytes that
// are not UTF-8 never claim SMTPUTF8); with VERP the sender is built from
// that recipient, so the sender bit is set with it.

public enum SMTPUTF8Flags {
    public static let requested = 1 << 0
    public static let header = 1 << 1
    public static let sender = 1 << 2
    public static let recipient = 1 << 3

    /// The flags for one delivery request.
    public static func forDelivery(queueFileFlags: Int, recipients: [ByteString],
                                   verp: Bool, enabled: Bool) -> Int {
        guard enabled, recipients.contains(where: needsSMTPUTF8) else { return queueFileFlags }
        return queueFileFlags | recipient | (verp ? sender : 0)
    }

    /// Non-ASCII and valid UTF-8.
    public static func needsSMTPUTF8(_ address: ByteString) -> Bool {
        guard address.bytes.contains(where: { $0 >= 0x80 }) else { return false }
        return String(validating: address.bytes, as: UTF8.self) != nil
    }
}
