// RecipientSlots: how a transport's recipient slots (`_recipient_limit`)
// move between the transport's pool, its jobs and their messages, so that a
// message reads more recipients only while slots are available for them
// (stock's qmgr_job_move_limits and the sponsor loop of qmgr_entry_done).
// Guarantees: a job's and its message's limits change by the same amounts;
// slots a job does not need any more go back to the pool, and from there to
// the earliest job whose message still has unread recipients.

extension Scheduler {
    /// Unused slots of `job` back to the pool, the pool on to the next
    /// job with unread recipients.
    func moveLimits(_ job: Job) {
        let transport = job.transport, message = job.message
        var next = transport.nextUnreadJob
        if job === next {
            var link = job.timeLink.next
            while let candidate = link, !candidate.element.message.hasMore { link = candidate.next }
            next = link?.element
            transport.nextUnreadJob = next
        }
        let spare = min(job.recipientLimit - job.recipientCount, message.recipientLimit - message.recipientCount)
        guard spare > 0 else { return }
        job.recipientLimit -= spare
        message.recipientLimit -= spare
        transport.unusedRecipientSlots += spare
        if let next, transport.unusedRecipientSlots > 0 {
            next.recipientLimit += transport.unusedRecipientSlots
            next.message.recipientLimit += transport.unusedRecipientSlots
            transport.unusedRecipientSlots = 0
        }
    }

    /// After the message's last batch: every job returns what it will not use.
    func moveLimitsOfAllJobs(_ message: Message) {
        for job in message.jobs { moveLimits(job) }
    }

    /// After an entry of `job` is disposed of: first the jobs that lent the
    /// message slots and are retired (or the message is fully read) get them
    /// back, then the entry's own job if the message is fully read.
    func returnSponsoredSlots(_ message: Message, finishing job: Job) {
        for sponsor in message.jobs where sponsor !== job && sponsor.recipientCount < sponsor.recipientLimit {
            if sponsor.stackLevel < 0 || !message.hasMore { moveLimits(sponsor) }
        }
        if !message.hasMore { moveLimits(job) }
    }
}
