// JobScheduler: the preemptive scheduler — which job's entry an agent of a
// transport delivers next (reference 5.11, SCHEDULER_README). Jobs are kept
// in queued-time order; the current job earns one delivery slot per entry it
// delivers; when it has earned enough (slot cost per entry of the candidate,
// minus the slot loan, scaled by 100 − discount), a job with few entries that
// waited long preempts it and is stacked in front of it. A job whose
// destinations are all at their concurrency window is a "blocker" and skipped
// until one of its queues frees a slot.
// Guarantees: preemption is off when the slot cost is below 2; a job is
// preempted only if it may have at least minimum-slots × slot-cost entries;
// a candidate needs no more entries than the current job can still pay for;
// the slots a preempting job did not use are given back when it is popped.
import MailQueue

extension Scheduler {
    /// qmgr_job_obtain: the message's job for the transport, linked and not a blocker.
    func obtainJob(_ message: Message, _ transport: Transport) -> Job {
        let job: Job
        if let existing = transport.jobByMessage[message.queueID] {
            job = existing
        } else {
            job = Job(message: message, transport: transport)
            transport.jobByMessage[message.queueID] = job
            message.jobs.append(job)
        }
        if !job.isLinked { link(job) }
        transport.candidateCacheCurrent = nil
        if job.blockerTag == transport.blockerTag {
            job.blockerTag = 0
            transport.currentJob = transport.jobs.first
        }
        return job
    }

    /// qmgr_job_link: into both lists by queued time (the scheduler list
    /// ignores stacked jobs when looking for its place); takes the pool.
    private func link(_ job: Job) {
        let transport = job.transport, queuedTime = job.message.queuedTime
        var current = transport.currentJob
        var anchor = transport.jobs.lastLink
        while let candidate = anchor {
            let other = candidate.element
            if other.stackParent == nil && queuedTime >= other.message.queuedTime { break }
            if current === other { current = nil }
            anchor = candidate.previous
        }
        transport.jobs.insert(job.schedulerLink, after: anchor)
        var unread = transport.nextUnreadJob
        var timeAnchor = transport.jobsByTime.lastLink
        while let candidate = timeAnchor {
            if queuedTime >= candidate.element.message.queuedTime { break }
            if unread === candidate.element { unread = nil }
            timeAnchor = candidate.previous
        }
        transport.jobsByTime.insert(job.timeLink, after: timeAnchor)
        job.stackLevel = 0
        if current == nil { transport.currentJob = job }
        if unread == nil {
            let previous = transport.nextUnreadJob
            transport.nextUnreadJob = job
            if let previous { moveLimits(previous) }
        }
        if transport.unusedRecipientSlots > 0 {
            job.recipientLimit += transport.unusedRecipientSlots
            job.message.recipientLimit += transport.unusedRecipientSlots
            transport.unusedRecipientSlots = 0
        }
    }

    private func unlink(_ job: Job) {
        let transport = job.transport
        orphanChildren(of: job, adoptedBy: nil)
        if transport.currentJob === job { transport.currentJob = job.schedulerLink.next?.element }
        if job === transport.candidateCache || job === transport.candidateCacheCurrent {
            transport.candidateCacheCurrent = nil
        }
        transport.jobs.remove(job.schedulerLink)
        transport.jobsByTime.remove(job.timeLink)
        job.stackLevel = -1
    }

    /// Off the lists until it gets entries again; it stays with its message.
    private func retire(_ job: Job) {
        if job.stackLevel > 0 { pop(job) }
        moveLimits(job)
        unlink(job)
    }

    /// When its message leaves the active queue.
    func freeJob(_ job: Job) {
        let transport = job.transport
        if job.stackLevel > 0 { pop(job) }
        moveLimits(job)
        if job.isLinked { unlink(job) }
        transport.jobByMessage[job.message.queueID] = nil
    }

    private func orphanChildren(of job: Job, adoptedBy parent: Job?) {
        for child in job.stackChildren {
            parent?.stackChildren.append(child)
            child.stackParent = parent
        }
        job.stackChildren.removeAll()
    }

    /// qmgr_job_pop: back to level 0; the parent is credited with the slots
    /// the job was charged for and did not use.
    private func pop(_ job: Job) {
        let transport = job.transport
        let parent = job.stackParent
        if let parent, job.stackLevel == parent.stackLevel + 1 {
            parent.slotsAvailable -= job.slotsUsed * transport.settings.slotCost
        }
        if let parent {
            parent.stackChildren.removeAll { $0 === job }
            job.stackParent = nil
        }
        orphanChildren(of: job, adoptedBy: parent)
        job.stackLevel = 0
        transport.candidateCacheCurrent = nil
    }

    /// qmgr_job_candidate: the job after `current` with the best
    /// (time waited + 1) / maximum entries that fits in the slots `current` can still earn.
    private func candidate(for current: Job, now: Double) -> Job? {
        let transport = current.transport
        let second = Int(now.rounded(.down))
        if transport.candidateCacheCurrent === current
            && (transport.candidateCacheTime == second || transport.candidateCache == nil) {
            return transport.candidateCache
        }
        let maximumSlots = (current.minimumEntries - current.selectedEntries + current.slotsAvailable)
            / transport.settings.slotCost
        var best: Job?
        var bestScore = 0.0
        if maximumSlots > 0 {
            var link = current.schedulerLink.next
            while let candidateLink = link {
                let job = candidateLink.element
                link = candidateLink.next
                if !job.stackChildren.isEmpty || job.blockerTag == transport.blockerTag { continue }
                let total = job.maximumEntries
                let needed = total - job.selectedEntries
                let waited = second - Int(job.message.queuedTime.rounded(.down)) + 1
                if needed > 0 && needed <= maximumSlots {
                    let score = Double(waited) / Double(total)
                    if score > bestScore {
                        bestScore = score
                        best = job
                    }
                }
                // No later job (queued later, not stacked) can score better.
                if Double(waited) <= bestScore && job.stackLevel == 0 { break }
            }
        }
        transport.candidateCache = best
        transport.candidateCacheCurrent = current
        transport.candidateCacheTime = second
        return best
    }

    /// qmgr_job_preempt: `current`, or the candidate stacked in front of it.
    private func preempt(_ current: Job, now: Double) -> Job {
        let transport = current.transport, s = transport.settings
        if current.slotsAvailable <= 0 || current.maximumEntries < s.minimumSlots * s.slotCost { return current }
        guard let job = candidate(for: current, now: now) else { return current }
        let expected = job.maximumEntries - job.selectedEntries
        let earned = Double(current.slotsAvailable / s.slotCost + s.slotLoan)
        if earned < Double(expected * s.slotLoanFactor) / 100.0 { return current }
        if job.stackLevel > 0 { pop(job) }
        transport.jobs.remove(job.schedulerLink)
        transport.jobs.insert(job.schedulerLink, before: current.schedulerLink)
        job.stackParent = current
        current.stackChildren.append(job)
        job.stackLevel = current.stackLevel + 1
        transport.currentJob = job
        transport.candidateCacheCurrent = nil
        current.slotsAvailable -= expected * s.slotCost
        job.slotsUsed = -expected
        if job.message.hasMore {
            let extra = (s.extraRecipientSlots + transport.unusedRecipientSlots + 1) / 2
            job.recipientLimit += extra
            job.message.recipientLimit += extra
            transport.unusedRecipientSlots -= extra
        }
        return job
    }

    /// qmgr_job_entry_select: the entry an agent of `transport` delivers next.
    func selectEntry(_ transport: Transport, now: Double, readMore: RecipientReader) throws(QmgrConfigError) -> Entry? {
        guard var job = transport.currentJob else { return nil }
        if transport.settings.slotCost >= 2 { job = preempt(job, now: now) }
        var cursor: Job? = job
        while let candidate = cursor {
            cursor = candidate.schedulerLink.next?.element
            if candidate.blockerTag == transport.blockerTag { continue }
            if let peer = try selectPeer(of: candidate, now: now, readMore: readMore) {
                guard let entry = select(from: peer, now: now) else { continue }
                countSlots(candidate)
                transport.currentJob = candidate
                if !candidate.hasEntries && !candidate.message.hasMore { retire(candidate) }
                return entry
            } else if candidate.hasEntries {
                candidate.blockerTag = transport.blockerTag
                for peer in candidate.peers where !peer.entries.isEmpty { peer.queue.blockerTag = transport.blockerTag }
            } else {
                retire(candidate)
            }
        }
        transport.currentJob = nil
        return nil
    }

    private func countSlots(_ job: Job) {
        job.slotsAvailable += 1
        job.slotsUsed += 1
        if job !== job.transport.candidateCacheCurrent { job.transport.candidateCacheCurrent = nil }
    }

    /// qmgr_job_peer_select: reads more recipients when enough slots are free
    /// (or some are and the refill delay passed), then the first peer whose
    /// queue has room, rotated to the end (round robin).
    private func selectPeer(of job: Job, now: Double, readMore: RecipientReader) throws(QmgrConfigError) -> Peer? {
        let message = job.message, s = job.transport.settings
        let free = message.recipientLimit - message.recipientCount
        if message.hasMore && message.refcount > 0
            && (free >= s.refillLimit || (free > 0 && now - message.refillTime >= Double(s.refillDelay))) {
            try refill(message, now: now, readMore: readMore)
        }
        if job.hasEntries, let peer = roomyPeer(of: job, now: now) { return peer }
        if message.hasMore && message.refcount > 0 && message.recipientLimit > message.recipientCount {
            try refill(message, now: now, readMore: readMore)
            if job.hasEntries { return roomyPeer(of: job, now: now) }
        }
        return nil
    }

    private func roomyPeer(of job: Job, now: Double) -> Peer? {
        for peer in job.peers where peer.queue.freeSlots(now: now) > 0 && !peer.entries.isEmpty {
            job.peers.rotateToEnd(peer.jobLink)
            return peer
        }
        return nil
    }

    private func refill(_ message: Message, now: Double, readMore: RecipientReader) throws(QmgrConfigError) {
        let batch = readMore(message.queueID, Scheduler.capped(message.recipientLimit - message.recipientCount))
        try take(batch, for: message, now: now)
    }

    /// qmgr_job_blocker_update: when a blocking queue has room again, every
    /// blocker of the transport is reconsidered.
    func updateBlocker(_ queue: DestinationQueue, now: Double) {
        let transport = queue.transport
        guard queue.blockerTag == transport.blockerTag else { return }
        let hasRoom = queue.freeSlots(now: now) > 0
        if hasRoom && !queue.todo.isEmpty {
            transport.blockerTag += 2
            transport.currentJob = transport.jobs.first
            transport.candidateCacheCurrent = nil
        }
        if hasRoom || queue.isThrottled { queue.blockerTag = 0 }
    }
}

/// Reads the next batch of a message's recipients: (queue ID, at most this
/// many) → the batch, resolved. It must not call back into the scheduler;
/// a file that cannot be read gives an empty batch without more to read.
public typealias RecipientReader = (String, Int) -> RecipientBatch
