// Contract: how the queue manager's delivery side (this module) meets the
// scheduler (QmgrCore) and the queue library (QmgrQueue). No code here;
// each file says what it guarantees.
//
// Per delivery attempt (scheduler):
// 1. When a transport may take another agent, make a DeliveryChannel
//    (connect is non-blocking; at most 2 pending per transport is the
//    scheduler's rule). Watch `descriptor` for `interest`, call `handle`,
//    and `checkDeadline` from a timer at `deadline` (ExchangeTimeouts: ipc =
//    qmgr_ipc_timeout, watchdog = daemon_timeout).
// 2. When `isReadyForRequest`, pick an entry (after the transport's rate
//    delay, if any) and `send` a DeliveryRequest (MailQueue builds it from
//    the Envelope; the caller adds its flags: trace flags | queue dflags |
//    3, or 2 with an inspect transport); with no entry, `abandon()`.
// 3. When `outcome` is non-nil, apply `DeliveryVerdict.judge(outcome, ...)`:
//    transport throttle/unthrottle, queue feedback (negative only while the
//    queue is ready; defer its todo if that kills it), `deferTransportTodo`
//    (move each todo entry of the transport's queues to the `retry`
//    transport with nexthop `RecipientDeferral.retryNexthop(dsn)`; only when
//    `retry` is throttled, call `RecipientDeferral.deferRecipient` per
//    recipient and OR its status into the message's defer flag), the
//    entry's fate, the message's defer flag (`messageDeferred`), the
//    warnings, and `fatal` (stock exits).
//
// Per message, when its last entry is finished (scheduler + queue library):
// 4. Build a CompletedMessage from the Envelope, with the defer flag,
//    force-expiry (file mode g+x), NOTIFY=SUCCESS seen and unread
//    recipients; run MessageCompletion (its `.request` steps through
//    StatusRequestChannel in the event loop, or CompletionRunner, which
//    blocks for each request, bounded by the timeouts).
// 5. Perform the decision in the queue library: `.remove` (unlink
//    active/<id>; log `QmgrLogLines.removed`; ENOENT is a warning),
//    `.deferUntil(t)` (utime atime = mtime = t, rename to deferred/, hashed),
//    `.moveToCorrupt` (stock's "saving corrupt file" warning; ENOENT
//    silent), `.loadNextBatch(deferred:)` (read the next recipients; if they
//    make no entries, complete again carrying the flag), `.fatal(text)`.
//    Log `info` lines as info and `warnings` as warnings.
// The queue library also removes defer/<id> when it loads a message (not
// on a force-expired message that has one), as stock does before resolving.
