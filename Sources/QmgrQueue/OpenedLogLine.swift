// OpenedLogLine: the line stock's qmgr logs when it reads a message's sender
// record on loading it: "<id>: from=<sender>, size=<content length>,
// nrcpt=<unread recipients> (queue active)", the sender in the form
// info_log_address_format asks for (external: RFC 822 quoted local part;
// the null sender stays empty). Stock logs it while reading, so a file
// found damaged after its sender record still gets the line: `forDamaged`
// finds what stock would have logged by reading records up to the sender.
import MailQueue

enum OpenedLogLine {
    static func text(id: QueueID, sender: ByteString, size: Int, recipients: Int, external: Bool) -> String {
        let shown = external && !sender.isEmpty ? AddressQuoting.external(sender) : sender
        return "\(id): from=<\(shown)>, size=\(size), nrcpt=\(recipients) (queue \(QueueName.active))"
    }

    /// The line for a file whose envelope pass failed, nil when the failure
    /// came before the sender record.
    static func forDamaged(_ file: ActiveQueueFile, external: Bool) -> String? {
        guard var reader = try? file.reader() else { return nil }
        var size: SizeRecord?
        var unread = 0
        while let record = try? reader.next() {
            switch record.type {
            case .size where size == nil:
                if case .valid(let s, _) = SizeRecord.parse(record.payload) {
                    size = s
                    unread = s.recipientCount
                } else {
                    return nil
                }
            case .recipient, .done, .cancelledRecipient:
                unread -= 1
            case .from:
                let sender = ByteString(record.payload.prefix(while: { $0 != 0 }))
                return text(id: file.id, sender: sender, size: size?.effectiveContentLength ?? 0,
                            recipients: unread, external: external)
            case .message, .end:
                return nil
            default:
                continue
            }
        }
        return nil
    }
}
