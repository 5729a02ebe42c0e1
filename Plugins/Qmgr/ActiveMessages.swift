// ActiveMessages.swift - the queue manager's own record of each message in
// the active queue, beside the scheduler's: the message as loaded (envelope,
// flags, arrival), what the scheduler does not track (a recipient deferred
// by the qmgr itself, NOTIFY=SUCCESS seen), and the conversions between the
// libraries' values: a routed batch into the scheduler's RecipientBatch, a
// scheduler Delivery into the agent's DeliveryRequest, a message into what
// completion needs.
// Guarantees: one record per queue ID the scheduler holds, added before the
// scheduler sees the message and removed when it forgets it; the number of
// address-verification probes in memory is counted here (routing limits them).
import MailQueue
import QmgrCore
import QmgrDelivery
import QmgrQueue

final class ActiveMessage {
    var loaded: LoadedMessage
    /// A recipient was deferred by the qmgr itself (the `retry` transport was dead).
    var deferredHere = false
    /// Some recipient read so far asked for NOTIFY=SUCCESS.
    var notifySuccess = false
    /// Reading more recipients failed this round: completion must not ask again.
    var refillProblem: RefillProblem?
    /// smtputf8_enable: requests flag recipients that need SMTPUTF8.
    var smtputf8Enabled = false

    enum RefillProblem { case vanished, corrupt, resolverFailed }

    init(_ loaded: LoadedMessage) { self.loaded = loaded }

    var stats: MessageStats {
        MessageStats(incomingArrival: .init(seconds: loaded.envelope.arrivalSeconds,
                                            microseconds: loaded.envelope.arrivalMicroseconds),
                     activeArrival: loaded.activeArrival)
    }

    /// What the scheduler takes in: the routed recipients, and whether more wait in the file.
    func batch(_ routed: RoutedBatch) -> RecipientBatch {
        if routed.routed.contains(where: { $0.recipient.dsnNotify & Self.notifySuccessBit != 0 }) { notifySuccess = true }
        let assignments = routed.routed.map {
            Assignment(transport: $0.route.transport.description, queueName: $0.route.queueName,
                       nexthop: $0.route.nexthop, recipient: $0.recipient)
        }
        return RecipientBatch(assignments: assignments, hasMore: loaded.hasUnreadRecipients,
                              unreadEstimate: loaded.envelope.unreadRecipients)
    }

    static let notifySuccessBit = 2

    var options: MessageOptions {
        MessageOptions(oneRecipientPerEntry: loaded.isVERP, flushEach: loaded.flags.contains(.flushEach))
    }

    /// The request for one delivery (stock's flags: trace flags, the
    /// queue's connection-cache flags, and SUCCESS|BOUNCE; the SMTPUTF8
    /// bits of the file plus those its recipients need).
    func request(for delivery: Delivery) -> DeliveryRequest {
        let flags = loaded.traceFlags | delivery.flags | DeliveryFlags.default
        var request = DeliveryRequest(envelope: loaded.envelope, queueID: loaded.id, nexthop: delivery.nexthop,
                                      recipients: delivery.recipients, flags: flags, activeArrival: loaded.activeArrival)
        request.smtputf8 = SMTPUTF8Flags.forDelivery(queueFileFlags: request.smtputf8,
                                                     recipients: delivery.recipients.map(\.address),
                                                     verp: loaded.envelope.verpDelimiters != nil,
                                                     enabled: smtputf8Enabled)
        if let delimiters = loaded.envelope.verpDelimiters, delivery.recipients.count == 1,
           let recipient = delivery.recipients.first {
            request.sender = VERPSender.make(sender: request.sender, recipient: recipient.address, delimiters: delimiters)
        }
        return request
    }

    /// What MessageCompletion needs, with the defer flag of this round.
    func completed(deferred: Bool) -> CompletedMessage {
        var message = CompletedMessage(envelope: loaded.envelope, queueID: loaded.id)
        message.traceFlags = loaded.traceFlags
        message.forceExpired = loaded.flags.contains(.forceExpire)
        message.notifySuccess = notifySuccess
        message.deferred = deferred || deferredHere
        if refillProblem != nil {
            // The rest is read from the file's start next time (done recipients are skipped).
            message.hasUnreadRecipients = false
            message.deferred = true
        }
        return message
    }
}

final class ActiveMessages {
    private var byID: [String: ActiveMessage] = [:]
    /// smtputf8_enable, passed on to every message added.
    private let smtputf8Enabled: Bool
    /// Address-verification probes in memory (address_verify_pending_request_limit).
    private(set) var probes = 0

    subscript(_ queueID: String) -> ActiveMessage? { byID[queueID] }

    init(smtputf8Enabled: Bool) { self.smtputf8Enabled = smtputf8Enabled }

    func add(_ message: ActiveMessage) {
        message.smtputf8Enabled = smtputf8Enabled
        byID[message.loaded.id.text] = message
        if message.loaded.isVerificationProbe { probes += 1 }
    }

    func remove(_ queueID: String) {
        guard let message = byID.removeValue(forKey: queueID) else { return }
        if message.loaded.isVerificationProbe { probes -= 1 }
    }
}

/// The sender of a VERP delivery: prefix@origin becomes
/// prefix<d1>user<d2>domain@origin for recipient user@domain; the null
/// sender stays null.
enum VERPSender {
    static func make(sender: ByteString, recipient: ByteString, delimiters: ByteString) -> ByteString {
        guard !sender.isEmpty, delimiters.count >= 2 else { return sender }
        let at = UInt8(ascii: "@")
        let s = sender.bytes, r = recipient.bytes
        let senderAt = s.lastIndex(of: at) ?? s.count
        let recipientAt = r.lastIndex(of: at) ?? r.count
        var out = Array(s[..<senderAt])
        out.append(delimiters.bytes[0])
        out += r[..<recipientAt]
        if recipientAt < r.count {
            out.append(delimiters.bytes[1])
            out += r[(recipientAt + 1)...]
        }
        if senderAt < s.count {
            out.append(at)
            out += s[(senderAt + 1)...]
        }
        return ByteString(out)
    }
}
