// DestinationStatus: the destination status cache and the timers that end
// each avoidance (reference 4.9, 5.7-5.9). A dead destination (failed cohort
// limit) or transport (agent unavailable) keeps its reason; its waiting
// entries move to the `retry` transport under "<status> <reason>", so
// error(8) writes their defer records; it gets another chance after
// minimal_backoff_time (destination) or transport_retry_time (transport), or
// at once with `enableAll` (the F trigger). A destination rate delay suspends
// the queue after each delivery. Guarantees: every avoidance has a time it
// ends at, reported by nextWakeup(); tick(now:) ends exactly those due.
import MailQueue

extension Scheduler {
    /// qmgr_transport_throttle: the transport is avoided for transport_retry_time.
    func throttle(_ transport: Transport, status: SiteStatus, now: Double) {
        guard transport.dead == nil else { return }
        transport.dead = status
        transport.retryAt = now + Double(settings.transportRetryTime)
        timedTransports[transport.name] = transport
    }

    /// qmgr_transport_unthrottle: alive again; the rate lock is released too.
    func unthrottle(_ transport: Transport) {
        if transport.dead != nil {
            transport.dead = nil
            transport.retryAt = nil
            timedTransports[transport.name] = nil
        }
        transport.rateLocked = false
    }

    /// The `retry` queue for `status`; nil when it or its transport is dead.
    func retryQueue(for status: SiteStatus, now: Double) -> DestinationQueue? {
        guard let retry = transports[Scheduler.retryTransport], retry.dead == nil else { return nil }
        let queue = obtainQueue(retry, name: status.nexthopText, nexthop: status.nexthopText, now: now)
        return queue.isThrottled ? nil : queue
    }

    /// qmgr_defer_todo: the queue's waiting entries go to `retry`, or are
    /// deferred synchronously when `retry` is dead.
    func deferTodo(_ queue: DestinationQueue, status: SiteStatus, now: Double) {
        let retry = retryQueue(for: status, now: now)
        for entry in Array(queue.todo) {
            if let retry {
                moveTodo(entry, to: retry, now: now)
            } else {
                deferSynchronously(entry.recipients, of: entry.message, status: status)
                done(entry, wasBusy: false, now: now)
            }
        }
    }

    /// qmgr_defer_transport: every queue of the transport.
    func deferTransport(_ transport: Transport, status: SiteStatus, now: Double) {
        for queue in Array(transport.queues) { deferTodo(queue, status: status, now: now) }
    }

    func deferSynchronously(_ recipients: [QueuedRecipient], of message: Message, status: SiteStatus) {
        guard !recipients.isEmpty else { return }
        message.deferred = true
        events.append(.deferRecipients(queueID: message.queueID, recipients: recipients, status: status))
    }

    /// qmgr_queue_suspend: the destination rate delay's pause.
    func suspend(_ queue: DestinationQueue, now: Double) {
        queue.window = DestinationQueue.suspended
        queue.resumeAt = now + Double(queue.transport.settings.destinationRateDelay)
        timedQueues[ObjectIdentifier(queue)] = queue
    }

    func setTokenTimer(_ queue: DestinationQueue, _ due: Double) {
        queue.tokenWaitUntil = min(queue.tokenWaitUntil ?? due, due)
        timedQueues[ObjectIdentifier(queue)] = queue
    }

    func clearQueueTimer(_ queue: DestinationQueue, retry: Bool = false, resume: Bool = false, token: Bool = false) {
        if retry { queue.retryAt = nil }
        if resume { queue.resumeAt = nil }
        if token { queue.tokenWaitUntil = nil }
        if queue.retryAt == nil && queue.resumeAt == nil && queue.tokenWaitUntil == nil {
            timedQueues[ObjectIdentifier(queue)] = nil
        }
    }

    /// Every dead transport and destination gets another chance (qmgr_enable_all).
    public func enableAll(now: Double) {
        for transport in Array(roundRobin) {
            if transport.dead != nil { unthrottle(transport) }
            for queue in Array(transport.queues) {
                if queue.isThrottled { unthrottleQueue(queue, now: now) }
                discardIfIdle(queue, now: now)
            }
        }
    }

    /// When tick(now:) has something to do next; nil when nothing is timed.
    public func nextWakeup() -> Double? {
        var earliest: Double?
        func consider(_ time: Double?) {
            if let time, time < earliest ?? .infinity { earliest = time }
        }
        for transport in timedTransports.values { consider(transport.retryAt) }
        for queue in timedQueues.values {
            consider(queue.retryAt)
            consider(queue.resumeAt)
            consider(queue.tokenWaitUntil)
        }
        return earliest
    }

    /// Ends the avoidances that are due at `now`.
    public func tick(now: Double) {
        for transport in Array(timedTransports.values) where (transport.retryAt ?? .infinity) <= now {
            unthrottle(transport)
        }
        for queue in Array(timedQueues.values) {
            if let due = queue.retryAt, due <= now {
                unthrottleQueue(queue, now: now)
                discardIfIdle(queue, now: now)
            }
            if let due = queue.resumeAt, due <= now {
                clearQueueTimer(queue, resume: true)
                queue.window = 1
                if queue.isEmpty { discardIfIdle(queue, now: now) } else { updateBlocker(queue, now: now) }
            }
            if let due = queue.tokenWaitUntil, due <= now {
                clearQueueTimer(queue, token: true)
                updateBlocker(queue, now: now)
                discardIfIdle(queue, now: now)
            }
        }
    }
}
