// DestinationQueueName: the name of the per-destination queue a routed
// recipient joins, as stock qmgr names it: the nexthop; except that for a
// transport that takes one recipient per delivery (its destination
// recipient limit is exactly 1; never error or retry) it is
// localpart@nexthop, so that recipients of one domain are delivered in
// parallel and limited per recipient. The localpart loses its address
// extension (cut at the first recipient_delimiter character) unless it is
// postmaster, MAILER-DAEMON or the double-bounce name, or an owner-/-request
// name when "-" is a delimiter and owner_request_special is on, or unless
// the cut would leave nothing. The name is then lower-cased (ASCII).
import MailQueue

enum DestinationQueueName {
    static func make(transport: ByteString, nexthop: ByteString, recipient: ByteString,
                     settings: LoadSettings) -> ByteString {
        var name = nexthop.bytes
        if transport != "error" && transport != "retry" && settings.destinationRecipientLimit(transport) == 1 {
            let at = recipient.bytes.lastIndex(of: UInt8(ascii: "@")) ?? recipient.count
            var local = Array(recipient.bytes[..<at])
            if !settings.recipientDelimiter.isEmpty, let cut = extensionStart(local, settings) {
                local = Array(local[..<cut])
            }
            name = local + [UInt8(ascii: "@")] + nexthop.bytes
        }
        return ByteString(name.map(RecipientOrder.lower))
    }

    /// Where split_addr would cut `local`, nil when it would not.
    static func extensionStart(_ local: [UInt8], _ settings: LoadSettings) -> Int? {
        let delimiters = settings.recipientDelimiter.bytes
        let lowered = ByteString(local.map(RecipientOrder.lower))
        func lowercased(_ s: ByteString) -> ByteString { ByteString(s.bytes.map(RecipientOrder.lower)) }
        if lowered == "postmaster" || lowered == "mailer-daemon" || lowered == lowercased(settings.doubleBounceSender) {
            return nil
        }
        if delimiters.contains(UInt8(ascii: "-")) && settings.ownerRequestSpecial {
            if lowered.bytes.starts(with: Array("owner-".utf8)) { return nil }
            if lowered.count > 8 && lowered.bytes.suffix(8).elementsEqual("-request".utf8) { return nil }
        }
        guard let cut = local.firstIndex(where: delimiters.contains), cut > 0 else { return nil }
        return cut
    }
}
