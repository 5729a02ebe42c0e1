// RecipientRouting: the route of each recipient of a batch, decided in
// stock qmgr's order (the first rule that applies wins, later ones may
// override the route):
// 1. REDIRECT (">" record): only the batch's first recipient is kept; the
//    redirect address, rewritten to canonical form (rewrite "local"),
//    replaces it and is resolved; the content filter does not apply;
// 2. content filter (L record), unless the message is a verification probe:
//    transport:nexthop from the filter; no nexthop -> default_filter_nexthop
//    -> the recipient's domain -> myhostname;
// 3. otherwise trivial-rewrite's resolve ("verify" for probes); a lookup
//    failure routes to retry "4.3.0 address resolver failure", bad syntax to
//    error "5.1.3 bad address syntax"; the resolved address replaces the
//    recipient's;
// then, in turn: an empty address -> error "5.1.3 null recipient address";
// a force-expired message -> retry "4.7.0 message is administratively
// expired"; a local recipient whose localpart is double_bounce_sender ->
// discarded; a transport in defer_transports (unless flushed) -> retry
// "4.3.2 deferred transport"; a probe while too many are pending -> retry
// "4.3.2 Too many address verification requests".
// The error and discard transports are ordinary routes: their agents
// bounce or discard. Dead transports and destinations are the scheduler's
// business (it reroutes to retry with their reason). A trivial-rewrite
// failure (stock retries forever) is thrown to the caller.
import MailQueue

struct RecipientRouting {
    let settings: LoadSettings
    let resolver: TrivialRewriteClient
    let message: LoadedMessage
    /// Verification probes in memory, this message included.
    let pendingProbes: Int

    enum Decision: Equatable {
        case routed(RoutedRecipient)
        case discarded(QueuedRecipient)
        case unassigned(QueuedRecipient)
    }

    static let traceOnlyMask = DeliveryFlags.mtaVerify | DeliveryFlags.userVerify

    func route(_ original: QueuedRecipient, isFirst: Bool) throws(AttrError) -> Decision {
        var recipient = original
        var transport: ByteString, nexthop: ByteString, flags: ResolveFlags
        let envelope = message.envelope
        if let redirect = envelope.redirectAddress {
            guard isFirst else { return .unassigned(original) }
            recipient.address = try resolver.rewriteInternal(redirect, rule: "local")
            (transport, nexthop, flags) = try resolve(&recipient)
        } else if let filter = envelope.filterTransport, message.traceFlags & Self.traceOnlyMask == 0 {
            (transport, nexthop) = filterRoute(filter, recipient: recipient.address)
            flags = []
        } else {
            (transport, nexthop, flags) = try resolve(&recipient)
        }
        func redirect(_ t: ByteString, _ text: ByteString) {
            (transport, nexthop, flags) = (t, text, [])
        }
        if recipient.address.isEmpty { redirect("error", "5.1.3 null recipient address") }
        if message.flags.contains(.forceExpire) { redirect("retry", "4.7.0 message is administratively expired") }
        if flags.contains(.classLocal) && isDoubleBounce(recipient.address) { return .discarded(recipient) }
        if !settings.deferTransports.isEmpty && !message.flags.contains(.flushDeferredTransports)
            && settings.deferTransports.contains(transport) {
            redirect("retry", "4.3.2 deferred transport")
        }
        if message.isVerificationProbe && pendingProbes > settings.verifyPendingLimit {
            redirect("retry", "4.3.2 Too many address verification requests")
        }
        let queueName = DestinationQueueName.make(transport: transport, nexthop: nexthop,
                                                  recipient: recipient.address, settings: settings)
        return .routed(RoutedRecipient(recipient: recipient,
                                       route: Route(transport: transport, nexthop: nexthop, queueName: queueName),
                                       resolveFlags: flags))
    }

    /// trivial-rewrite's answer for `recipient`, whose address becomes the resolved one.
    private func resolve(_ recipient: inout QueuedRecipient) throws(AttrError) -> (ByteString, ByteString, ResolveFlags) {
        let reply = try resolver.resolve(recipient.address, sender: message.envelope.sender ?? .empty,
                                         verify: message.isVerificationProbe)
        recipient.address = reply.recipient
        if reply.flags.contains(.fail) { return ("retry", "4.3.0 address resolver failure", []) }
        if reply.flags.contains(.error) { return ("error", "5.1.3 bad address syntax", []) }
        return (reply.transport, reply.nexthop, reply.flags)
    }

    private func filterRoute(_ filter: ByteString, recipient: ByteString) -> (ByteString, ByteString) {
        let bytes = filter.bytes
        let colon = bytes.firstIndex(of: UInt8(ascii: ":"))
        let transport = ByteString(bytes[..<(colon ?? bytes.count)])
        if let colon, colon + 1 < bytes.count { return (transport, ByteString(bytes[(colon + 1)...])) }
        if !settings.defaultFilterNexthop.isEmpty { return (transport, settings.defaultFilterNexthop) }
        if let at = recipient.bytes.lastIndex(of: UInt8(ascii: "@")), at + 1 < recipient.count {
            return (transport, ByteString(recipient.bytes[(at + 1)...]))
        }
        return (transport, settings.myhostname)
    }

    /// The localpart equals double_bounce_sender, ignoring ASCII case.
    private func isDoubleBounce(_ address: ByteString) -> Bool {
        let at = address.bytes.lastIndex(of: UInt8(ascii: "@")) ?? address.count
        return RecipientOrder.compareIgnoringASCIICase(address.bytes[..<at], settings.doubleBounceSender.bytes[...]) == 0
    }
}
