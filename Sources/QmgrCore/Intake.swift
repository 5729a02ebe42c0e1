// Intake: the leaky bucket in front of the active queue, and how a batch of
// resolved recipients becomes entries. Guarantees (reference 5.3-5.5):
// a new message is admitted only below qmgr_message_active_limit and reads at
// most max(qmgr_message_recipient_limit − recipients in memory,
// qmgr_message_recipient_minimum) recipients (never more than 5000 at once);
// mail for a dead transport or a dead destination goes to the `retry` transport under "<status> <reason>" (or is
// deferred synchronously when `retry` is dead too); recipients for one
// destination fill the peer's last entry up to the transport's recipient
// limit (0 = no limit; one per entry for VERP) before a new entry starts.
import MailQueue

extension Scheduler {
    /// Recipients the caller may read for a new message now; nil while the
    /// active queue is full.
    public func admissionLimit() -> Int? {
        guard messages.count < settings.activeLimit else { return nil }
        return Scheduler.capped(max(settings.recipientLimit - recipientCount, settings.recipientMinimum))
    }

    /// Recipients the caller may read for an idle message with more to read.
    public func readLimit(queueID: String) -> Int {
        guard let message = messages[queueID] else { return 0 }
        return Scheduler.capped(max(1, message.recipientLimit - message.recipientCount))
    }

    /// Stock keeps one read under 5000 recipients to bound its latency.
    static func capped(_ limit: Int) -> Int { min(limit, 5000) }

    /// Takes a message into the active queue with its first batch. An empty
    /// batch (e.g. a force-expired message) makes it idle at once. False (and
    /// nothing changes) when the queue ID is already in the active queue.
    @discardableResult
    public func add(queueID: String, options: MessageOptions = MessageOptions(), batch: RecipientBatch,
                    now: Double) throws(QmgrConfigError) -> Bool {
        guard messages[queueID] == nil else { return false }
        let message = Message(queueID: queueID, options: options, queuedTime: now,
                              recipientLimit: settings.recipientMinimum)
        messages[queueID] = message
        try take(batch, for: message, now: now)
        return true
    }

    /// The next batch of an idle message (after `.messageIdle` with hasMore).
    public func continueMessage(queueID: String, batch: RecipientBatch, now: Double) throws(QmgrConfigError) {
        guard let message = messages[queueID], message.idle else { return }
        message.idle = false
        try take(batch, for: message, now: now)
    }

    /// Forgets an idle message; false when it is unknown or still has entries.
    @discardableResult
    public func removeMessage(queueID: String) -> Bool {
        guard let message = messages[queueID], message.refcount == 0 else { return false }
        for job in message.jobs { freeJob(job) }
        message.jobs.removeAll()
        messages[queueID] = nil
        return true
    }

    func take(_ batch: RecipientBatch, for message: Message, now: Double) throws(QmgrConfigError) {
        message.hasMore = batch.hasMore
        message.unreadEstimate = batch.unreadEstimate
        message.refillTime = now
        let targets = try destinations(of: batch.assignments, for: message, now: now)
        assign(targets, to: message, now: now)
        if !message.hasMore { moveLimitsOfAllJobs(message) }
        if message.refcount == 0 { becameIdle(message) }
    }

    func becameIdle(_ message: Message) {
        message.idle = true
        events.append(.messageIdle(queueID: message.queueID, deferred: message.deferred, hasMore: message.hasMore))
    }

    /// Where each recipient goes, after the redirections of reference 5.4
    /// steps 9 and 11 (dead transports and destinations), in stock's order: by transport, then queue name.
    private func destinations(of assignments: [Assignment], for message: Message, now: Double)
        throws(QmgrConfigError) -> [(DestinationQueue, QueuedRecipient)] {
        var targets: [(DestinationQueue, QueuedRecipient)] = []
        var deferredNow: [(SiteStatus, QueuedRecipient)] = []
        for assignment in assignments {
            switch try destination(of: assignment, options: message.options, now: now) {
            case .queue(let queue): targets.append((queue, assignment.recipient))
            case .deferNow(let status): deferredNow.append((status, assignment.recipient))
            }
        }
        for (status, recipients) in Scheduler.grouped(deferredNow) {
            deferSynchronously(recipients, of: message, status: status)
        }
        if targets.count < 2 { return targets }
        let order = targets.indices.sorted { a, b in
            let (x, y) = (targets[a].0, targets[b].0)
            if x.transport.name != y.transport.name { return x.transport.name < y.transport.name }
            if x.name != y.name { return x.name < y.name }
            return a < b
        }
        return order.map { targets[$0] }
    }

    private enum Destination {
        case queue(DestinationQueue)
        case deferNow(SiteStatus)
    }

    private func destination(of assignment: Assignment, options: MessageOptions, now: Double)
        throws(QmgrConfigError) -> Destination {
        let transport = try self.transport(named: assignment.transport)
        if options.flushEach && transport.dead != nil { unthrottle(transport) }
        if let status = transport.dead { return retryDestination(status, now: now) }
        let queue = obtainQueue(transport, name: assignment.queueName, nexthop: assignment.nexthop, now: now)
        if options.flushEach && queue.isThrottled { unthrottleQueue(queue, now: now) }
        if let status = queue.deadStatus { return retryDestination(status, now: now) }
        return .queue(queue)
    }

    private func retryDestination(_ status: SiteStatus, now: Double) -> Destination {
        if let queue = retryQueue(for: status, now: now) { return .queue(queue) }
        return .deferNow(status)
    }

    /// The recipients of each status, statuses in order of first appearance.
    static func grouped(_ pairs: [(SiteStatus, QueuedRecipient)]) -> [(SiteStatus, [QueuedRecipient])] {
        var result: [(SiteStatus, [QueuedRecipient])] = []
        for (status, recipient) in pairs {
            if let i = result.firstIndex(where: { $0.0 == status }) {
                result[i].1.append(recipient)
            } else {
                result.append((status, [recipient]))
            }
        }
        return result
    }

    /// qmgr_message_assign: fill the peer's last entry while the limit allows.
    private func assign(_ targets: [(DestinationQueue, QueuedRecipient)], to message: Message, now: Double) {
        var job: Job?
        var peer: Peer?
        for (queue, recipient) in targets {
            if job == nil || job?.transport !== queue.transport {
                job = obtainJob(message, queue.transport)
                peer = nil
            }
            guard let currentJob = job else { continue }
            if peer == nil || peer?.queue !== queue { peer = obtainPeer(currentJob, queue) }
            guard let currentPeer = peer else { continue }
            let limit = queue.transport.settings.recipientLimit
            var entry = currentPeer.entries.last
            if message.options.oneRecipientPerEntry || entry == nil
                || (limit != 0 && (entry?.recipients.count ?? 0) >= limit) {
                entry = createEntry(currentPeer, message, now: now)
            }
            entry?.recipients.append(recipient)
            currentJob.recipientCount += 1
            message.recipientCount += 1
            recipientCount += 1
        }
    }

    func obtainPeer(_ job: Job, _ queue: DestinationQueue) -> Peer {
        if let peer = job.peerByQueue[ObjectIdentifier(queue)] { return peer }
        let peer = Peer(job: job, queue: queue)
        job.peerByQueue[ObjectIdentifier(queue)] = peer
        job.peers.append(peer.jobLink)
        return peer
    }

    func freePeer(_ peer: Peer) {
        let job = peer.job
        job.peers.remove(peer.jobLink)
        job.peerByQueue[ObjectIdentifier(peer.queue)] = nil
    }

    func obtainQueue(_ transport: Transport, name: ByteString, nexthop: ByteString, now: Double) -> DestinationQueue {
        if let queue = transport.queueByName[name] { return queue }
        let queue = DestinationQueue(transport: transport, name: name, nexthop: nexthop, now: now)
        transport.queueByName[name] = queue
        transport.queues.append(queue.transportLink)
        queueCount += 1
        return queue
    }

    /// qmgr_queue_done: an empty, ready queue is forgotten.
    func discardQueue(_ queue: DestinationQueue) {
        guard queue.transportLink.isLinked else { return }
        let transport = queue.transport
        transport.queues.remove(queue.transportLink)
        transport.queueByName[queue.name] = nil
        timedQueues[ObjectIdentifier(queue)] = nil
        queueCount -= 1
    }
}
