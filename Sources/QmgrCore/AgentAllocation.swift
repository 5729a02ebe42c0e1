// AgentAllocation: which transport gets the next agent connection, which
// entry an agent delivers, and what its reply changes (reference 4.8, 5.6).
// Transports are served round robin: the first transport that is not dead,
// not rate-locked and has fewer than two connections pending, and whose
// ready queues can take as many deliveries as it would then have pending,
// gets the connection and moves to the end of the list.
// Guarantees: a transport with a transport rate delay has one delivery in
// flight at a time; replies are applied as QmgrDelivery's DeliveryVerdict
// (stock's reaction matrix) says: negative feedback only while the queue is
// ready, positive only without a site reason. One deliberate difference
// from stock, where stock leaves a rate-delayed transport locked until a
// flush: the rate lock is released when a verdict leaves the transport
// unchanged (a crashed agent) and when an agent gets no entry.
import MailQueue
import QmgrDelivery

extension Scheduler {
    /// The transport to open an agent connection for now (its pending count
    /// is raised), nil when no transport qualifies.
    public func nextConnection(now: Double) -> String? {
        for transport in roundRobin {
            guard transport.dead == nil, !transport.rateLocked, transport.pending < Transport.maximumPending
            else { continue }
            var need = transport.pending + 1
            for queue in transport.queues where queue.isReady {
                need -= min(queue.freeSlots(now: now), queue.todo.count)
                if need <= 0 { break }
            }
            guard need <= 0 else { continue }
            roundRobin.rotateToEnd(transport.roundRobinLink)
            if transport.settings.transportRateDelay > 0 { transport.rateLocked = true }
            transport.pending += 1
            return transport.name
        }
        return nil
    }

    /// The connection attempt ended (an agent answered, or not): seconds to
    /// wait (the transport rate delay) before selectDelivery, or before
    /// applying the verdict of a failed connection, as stock does.
    public func connectionCompleted(transport name: String) -> Int {
        guard let transport = transports[name] else { return 0 }
        transport.pending = max(0, transport.pending - 1)
        return transport.settings.transportRateDelay
    }

    /// The delivery for a ready agent of `transport`; nil when nothing is
    /// left (close the agent). `readMore` is called when a message may read
    /// more recipients. Unlike stock, a transport's rate lock is released when
    /// nothing is left, so a rate-delayed transport cannot stay locked.
    public func selectDelivery(transport name: String, now: Double, readMore: RecipientReader)
        throws(QmgrConfigError) -> Delivery? {
        guard let transport = transports[name] else { return nil }
        guard let entry = try selectEntry(transport, now: now, readMore: readMore) else {
            transport.rateLocked = false
            return nil
        }
        let id = nextDeliveryID
        nextDeliveryID += 1
        entry.deliveryID = id
        busyByDeliveryID[id] = entry
        let queue = entry.queue
        return Delivery(id: id, queueID: entry.message.queueID, transport: transport.name, queueName: queue.name,
                        nexthop: queue.nexthop, recipients: entry.recipients, flags: queue.deliveryFlags)
    }

    /// Applies stock's reaction to how an agent connection ended
    /// (QmgrDelivery's DeliveryVerdict.judge): `deliveryID` is the delivery
    /// handed to it, nil when none was (no agent, or nothing to deliver).
    /// Stock's order: the entry back to todo if the request was not sent,
    /// negative feedback (and deferral of a queue that died of it), the
    /// transport's throttle state, deferral of the transport's waiting mail,
    /// positive feedback, then the entry is done.
    public func apply(_ verdict: DeliveryVerdict, transport name: String, deliveryID: Int?, now: Double) {
        guard let transport = transports[name] else { return }
        let entry = deliveryID.flatMap { busyByDeliveryID.removeValue(forKey: $0) }
        entry?.deliveryID = nil
        if let entry, let result = DeliveryResult(verdict) {
            deliveryCounters.add(result, transport: name, recipients: entry.recipients.count)
        }
        if verdict.messageDeferred { entry?.message.deferred = true }
        if let entry, verdict.entry == .backToTodo { unselect(entry) }
        // Only an entry whose delivery is over gives feedback; one put back
        // may be moved to `retry` below, and its queue forgotten.
        let finishing = verdict.entry == .finished ? entry : nil
        if case .negativeFeedback(let dsn) = verdict.queue, let queue = finishing?.queue, queue.isReady {
            let status = SiteStatus(dsn)
            throttleQueue(queue, status: status, now: now)
            if queue.isThrottled { deferTodo(queue, status: status, now: now) }
        }
        switch verdict.transport {
        case .throttle(let dsn): throttle(transport, status: SiteStatus(dsn), now: now)
        case .unthrottle: unthrottle(transport)
        // Stock keeps the rate lock here (a crash, nothing delivered), and a
        // rate-delayed transport then stays locked until a flush; nothing is in
        // flight any more, so we release it.
        case .unchanged: transport.rateLocked = false
        }
        if let dsn = verdict.deferTransportTodo { deferTransport(transport, status: SiteStatus(dsn), now: now) }
        if verdict.queue == .positiveFeedback, let queue = finishing?.queue { unthrottleQueue(queue, now: now) }
        if let finishing { done(finishing, wasBusy: true, now: now) }
    }
}
