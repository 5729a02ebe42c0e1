// Snapshot: a value describing the scheduler's state for the query
// interface (issue 8 item 4): active queue occupancy, per transport and per
// destination the concurrency window, busy and todo counts, throttled or
// dead sites with the reason and the time they are retried, rate-delay and
// rate-limit state, the preemptive scheduler's jobs, and the delivery
// counters. Guarantees: a copy — later scheduler calls do not change it;
// transports in round-robin order, destinations and jobs in their
// scheduling order; times on the scheduler's clock.

public struct SchedulerSnapshot: Equatable, Sendable {
    public var messages: Int
    public var messageLimit: Int
    public var recipients: Int
    public var recipientLimit: Int
    public var transports: [TransportSnapshot]
    /// How delivery requests ended since the qmgr started (DeliveryCounters).
    public var deliveries: [DeliveryCount]
}

public struct TransportSnapshot: Equatable, Sendable {
    public var name: String
    /// Agent connections asked for and not yet ready.
    public var pending: Int
    /// Deliveries in flight over all its destinations.
    public var busy: Int
    /// Throttled: why, and when it is tried again.
    public var deadReason: String?
    public var retryAt: Double?
    public var rateLocked: Bool
    public var concurrencyLimit: Int
    public var recipientLimit: Int
    public var unusedRecipientSlots: Int
    public var destinations: [DestinationSnapshot]
    public var jobs: [JobSnapshot]
}

public struct DestinationSnapshot: Equatable, Sendable {
    public var name: String
    public var nexthop: String
    /// "ready", "throttled" (dead) or "suspended" (rate delay).
    public var state: String
    public var window: Int
    public var busy: Int
    public var todo: Int
    public var todoRecipients: Int
    public var deadReason: String?
    public var retryAt: Double?
    /// The destination rate delay's pause ends at.
    public var resumeAt: Double?
    /// The project's rate limit: whole tokens left and when the next one comes.
    public var rateLimitTokens: Int?
    public var nextTokenAt: Double?
}

public struct JobSnapshot: Equatable, Sendable {
    public var queueID: String
    public var current: Bool
    public var blocker: Bool
    /// 0 normal, > 0 preempting (stack depth).
    public var stackLevel: Int
    public var preempts: String?
    public var slotsUsed: Int
    public var slotsAvailable: Int
    public var selectedEntries: Int
    public var readEntries: Int
    public var recipients: Int
    public var recipientLimit: Int
}

extension Scheduler {
    public func snapshot(now: Double) -> SchedulerSnapshot {
        SchedulerSnapshot(messages: messages.count, messageLimit: settings.activeLimit, recipients: recipientCount,
                          recipientLimit: settings.recipientLimit,
                          transports: roundRobin.map { snapshot(of: $0, now: now) },
                          deliveries: deliveryCounters.all)
    }

    private func snapshot(of transport: Transport, now: Double) -> TransportSnapshot {
        let destinations = transport.queues.map { snapshot(of: $0, now: now) }
        return TransportSnapshot(
            name: transport.name, pending: transport.pending, busy: destinations.reduce(0) { $0 + $1.busy },
            deadReason: transport.dead.map(Scheduler.text), retryAt: transport.retryAt,
            rateLocked: transport.rateLocked, concurrencyLimit: transport.settings.concurrencyLimit,
            recipientLimit: transport.settings.recipientLimit,
            unusedRecipientSlots: transport.unusedRecipientSlots, destinations: destinations,
            jobs: transport.jobs.map { job in
                JobSnapshot(queueID: job.message.queueID, current: job === transport.currentJob,
                            blocker: job.blockerTag == transport.blockerTag, stackLevel: job.stackLevel,
                            preempts: job.stackParent?.message.queueID, slotsUsed: job.slotsUsed,
                            slotsAvailable: job.slotsAvailable, selectedEntries: job.selectedEntries,
                            readEntries: job.readEntries, recipients: job.recipientCount,
                            recipientLimit: job.recipientLimit)
            })
    }

    private func snapshot(of queue: DestinationQueue, now: Double) -> DestinationSnapshot {
        var tokens = queue.tokens
        let available = tokens?.available(now: now)
        let nextToken = tokens?.nextToken(now: now)
        return DestinationSnapshot(
            name: queue.name.description, nexthop: queue.nexthop.description, state: queue.stateName,
            window: queue.window, busy: queue.busy.count, todo: queue.todo.count,
            todoRecipients: queue.todo.reduce(0) { $0 + $1.recipients.count },
            deadReason: queue.deadStatus.map(Scheduler.text), retryAt: queue.retryAt, resumeAt: queue.resumeAt,
            rateLimitTokens: available, nextTokenAt: nextToken.flatMap { $0 > now ? $0 : nil })
    }

    static func text(_ status: SiteStatus) -> String { status.nexthopText.description }
}
