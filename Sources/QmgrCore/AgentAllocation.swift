// AgentAllocation: which transport gets the next agent connection, which
// entry an agent delivers, and what its reply changes (reference 4.8, 5.6).
// Transports are served round robin: the first transport that is not dead,
// not rate-locked and has fewer than two connections pending, and whose
// ready queues can take as many deliveries as it would then have pending,
// gets the connection and moves to the end of the list.
// Guarantees: a transport with a transport rate delay has one delivery in
// flight at a time; feedback follows stock's reaction matrix: positive
// feedback only for replies without a site reason, negative only for a site
// failure of a ready queue, none for a crashed agent (which also leaves the
// transport's throttle alone). Two deliberate differences from stock, both
// where stock leaves a rate-delayed transport locked until a flush: the rate
// lock is released after a crashed agent and when an agent gets no entry.
import MailQueue

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

    /// The agent answered its connection: seconds to wait (the transport rate
    /// delay) before calling selectDelivery.
    public func connectionReady(transport name: String) -> Int {
        guard let transport = transports[name] else { return 0 }
        transport.pending = max(0, transport.pending - 1)
        return transport.settings.transportRateDelay
    }

    /// No agent (connect failed or no greeting): the transport is throttled
    /// and its waiting entries are moved to `retry`.
    public func connectionFailed(transport name: String, now: Double) {
        guard let transport = transports[name] else { return }
        transport.pending = max(0, transport.pending - 1)
        let status = SiteStatus(status: "4.3.0", reason: "mail transport unavailable")
        throttle(transport, status: status, now: now)
        deferTransport(transport, status: status, now: now)
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

    /// The agent's reply to delivery `id` (or the failure to send it).
    public func finished(deliveryID id: Int, outcome: DeliveryOutcome, now: Double) {
        guard let entry = busyByDeliveryID.removeValue(forKey: id) else { return }
        entry.deliveryID = nil
        let queue = entry.queue, transport = queue.transport, message = entry.message
        switch outcome {
        case .transportFailed(let status):
            unselect(entry)
            throttle(transport, status: status, now: now)
            deferTransport(transport, status: status, now: now)
            return
        case .agentCrashed:
            // Stock keeps the rate lock here, and a rate-delayed transport
            // then stays locked until a flush; the delivery is over, so we release it.
            message.deferred = true
            transport.rateLocked = false
        case .delivered:
            unthrottle(transport)
            unthrottleQueue(queue, now: now)
        case .someDeferred:
            message.deferred = true
            unthrottle(transport)
            unthrottleQueue(queue, now: now)
        case .doneWithSiteReason:
            unthrottle(transport)
        case .siteFailed(let reported):
            message.deferred = true
            let status = Scheduler.suspended(reported)
            if queue.isReady {
                throttleQueue(queue, status: status, now: now)
                if queue.isThrottled { deferTodo(queue, status: status, now: now) }
            }
            unthrottle(transport)
        }
        done(entry, wasBusy: true, now: now)
    }

    /// Stock's sanitising of an agent's site status: an invalid status
    /// becomes 4.0.0, an empty reason "unknown error", and the reason says
    /// "delivery temporarily suspended: ".
    static func suspended(_ reported: SiteStatus) -> SiteStatus {
        let status = isValidDSN(reported.status) ? reported.status : "4.0.0"
        let reason = reported.reason.isEmpty ? ByteString("unknown error") : reported.reason
        return SiteStatus(status: status, reason: ByteString(Array("delivery temporarily suspended: ".utf8) + reason.bytes))
    }

    /// dsn_valid: [245] "." 1-3 digits "." 1-3 digits, then the end or white space.
    static func isValidDSN(_ text: ByteString) -> Bool {
        let b = text.bytes
        guard b.count >= 5, [0x32, 0x34, 0x35].contains(b[0]), b[1] == 0x2E else { return false }
        func digits(from start: Int) -> Int {
            var i = start
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            return i - start
        }
        let second = digits(from: 2)
        guard (1...3).contains(second), 2 + second < b.count, b[2 + second] == 0x2E else { return false }
        let thirdStart = 3 + second
        let third = digits(from: thirdStart)
        guard (1...3).contains(third) else { return false }
        let end = thirdStart + third
        return end == b.count || b[end] == 0x20 || (b[end] >= 0x09 && b[end] <= 0x0D)
    }
}
