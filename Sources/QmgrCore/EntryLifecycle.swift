// EntryLifecycle: an entry from creation to disposal — created on its
// peer and queue (with the clog warning check), selected for delivery (with
// the connection-cache flags and the rate limit's token), put back, moved to
// another queue, and done (recipient counters, slots handed on, the rate
// delay's suspension, blocker release, and the message going idle).
// Guarantees: counters (queue todo/busy, job read/selected, recipient counts,
// message refcount) change together with the lists; a message goes idle
// exactly once per round, when its last entry is done.
import MailQueue

extension Scheduler {
    func createEntry(_ peer: Peer, _ message: Message, now: Double) -> Entry {
        let queue = peer.queue
        let entry = Entry(message: message, peer: peer, queue: queue)
        liveEntries[ObjectIdentifier(entry)] = entry
        message.refcount += 1
        peer.entries.append(entry.peerLink)
        peer.refcount += 1
        queue.todo.append(entry.queueLink)
        peer.job.readEntries += 1
        warnIfClogged(queue, now: now)
        return entry
    }

    /// qmgr_entry_select: todo → busy, and the connection-cache decision:
    /// caching starts after a back-to-back delivery (the previous one ended
    /// within a second) and stops storing when deliveries are neither
    /// concurrent nor back to back.
    func select(from peer: Peer, now: Double) -> Entry? {
        guard let entry = peer.entries.first else { return nil }
        let queue = entry.queue
        queue.todo.remove(entry.queueLink)
        queue.busy.append(entry.queueLink)
        peer.entries.remove(entry.peerLink)
        peer.job.selectedEntries += 1
        let backToBack = queue.lastDone + 1 >= now
        if queue.deliveryFlags & DeliveryFlags.connectionStore == 0 {
            if backToBack { queue.deliveryFlags |= DeliveryFlags.connectionLoad | DeliveryFlags.connectionStore }
        } else if !(queue.busy.count > 1 || backToBack) {
            queue.deliveryFlags &= ~DeliveryFlags.connectionStore
        }
        if queue.tokens != nil {
            queue.tokens?.take(now: now)
            if let due = queue.tokens?.nextToken(now: now), due > now { setTokenTimer(queue, due) }
        }
        return entry
    }

    /// qmgr_entry_unselect: back to the front of its peer, so the order holds.
    func unselect(_ entry: Entry) {
        let queue = entry.queue
        queue.busy.remove(entry.queueLink)
        queue.todo.append(entry.queueLink)
        entry.peer.entries.prepend(entry.peerLink)
        entry.peer.job.selectedEntries -= 1
    }

    /// qmgr_entry_move_todo: the recipients go to a new entry in `target`.
    func moveTodo(_ entry: Entry, to target: DestinationQueue, now: Double) {
        let message = entry.message
        let sourceJob = entry.peer.job
        let targetJob = obtainJob(message, target.transport)
        let targetPeer = obtainPeer(targetJob, target)
        let moved = createEntry(targetPeer, message, now: now)
        moved.recipients = entry.recipients
        entry.recipients = []
        sourceJob.recipientCount -= moved.recipients.count
        targetJob.recipientCount += moved.recipients.count
        done(entry, wasBusy: false, now: now)
    }

    /// qmgr_entry_done.
    func done(_ entry: Entry, wasBusy: Bool, now: Double) {
        let queue = entry.queue, message = entry.message, peer = entry.peer, job = peer.job
        let transport = job.transport
        if wasBusy {
            queue.busy.remove(entry.queueLink)
        } else {
            peer.entries.remove(entry.peerLink)
            job.selectedEntries += 1
            queue.todo.remove(entry.queueLink)
        }
        job.recipientCount -= entry.recipients.count
        message.recipientCount -= entry.recipients.count
        recipientCount -= entry.recipients.count
        liveEntries[ObjectIdentifier(entry)] = nil
        returnSponsoredSlots(message, finishing: job)
        if wasBusy && transport.settings.destinationRateDelay > 0 {
            if queue.isThrottled { unthrottleQueue(queue, now: now) }
            if queue.isReady { suspend(queue, now: now) }
        }
        if !queue.isSuspended && queue.blockerTag == transport.blockerTag { updateBlocker(queue, now: now) }
        peer.refcount -= 1
        if peer.refcount == 0 { freePeer(peer) }
        if wasBusy { queue.lastDone = now }
        if queue.isEmpty {
            if queue.isThrottled && queueCount > 2 * settings.recipientLimit { unthrottleQueue(queue, now: now) }
            discardIfIdle(queue, now: now)
        }
        message.refcount -= 1
        if message.refcount == 0 { becameIdle(message) }
    }

    /// A ready, empty queue is forgotten — unless its rate-limit bucket is
    /// not full yet: forgetting it would grant a fresh burst.
    func discardIfIdle(_ queue: DestinationQueue, now: Double) {
        guard queue.isReady, queue.isEmpty else { return }
        if let full = queue.tokens?.fullAt(now: now), full > now {
            setTokenTimer(queue, full)
            return
        }
        discardQueue(queue)
    }
}
