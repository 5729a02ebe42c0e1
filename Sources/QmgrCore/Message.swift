// Message: a queue file in the active queue, as the scheduler counts it:
// its in-memory entries (refcount), recipients in memory and the recipient
// slots it may fill (leaky bucket), how much of the file is unread, its jobs
// (one per transport) and whether any recipient was deferred. Guarantees:
// `refcount` equals the number of its entries; `recipientCount` equals the
// recipients in those entries.

final class Message {
    let queueID: String
    let options: MessageOptions
    /// When it entered the active queue (stock: queued_time, for preemption scores).
    let queuedTime: Double
    var refcount = 0
    var recipientCount = 0
    /// Recipient slots (rcpt_limit): starts at qmgr_message_recipient_minimum,
    /// grows with slots lent by its jobs' transports.
    var recipientLimit: Int
    var hasMore = false
    var unreadEstimate = 0
    /// When recipients were last read (refill delay).
    var refillTime: Double
    /// Jobs in creation order (stock's message job_list).
    var jobs: [Job] = []
    /// Some recipient was deferred in this round (stock: message->flags).
    var deferred = false
    /// Waiting for its caller to continue or remove it.
    var idle = false

    init(queueID: String, options: MessageOptions, queuedTime: Double, recipientLimit: Int) {
        self.queueID = queueID
        self.options = options
        self.queuedTime = queuedTime
        self.recipientLimit = recipientLimit
        refillTime = queuedTime
    }
}
