// QueryDocument: the JSON document the qmgr's query interface serves, built
// from QmgrCore's SchedulerSnapshot. This comment is the schema; field names
// are stable within a version, and a change that removes or re-types a field
// raises "version". New fields may appear without a version change, so
// readers ignore names they do not know.
//
//   {
//     "version": 1,
//     "generated": T,                       when the snapshot was taken
//     "active": {                           the active queue's occupancy
//       "messages": N, "message_limit": N,          (qmgr_message_active_limit)
//       "recipients": N, "recipient_limit": N       (qmgr_message_recipient_limit)
//     },
//     "transports": [ {                     in round-robin order
//       "name": S,
//       "concurrency_limit": N,             <transport>_destination_concurrency_limit
//       "recipient_limit": N,               <transport>_destination_recipient_limit
//       "busy": N,                          deliveries in flight, all destinations
//       "pending": N,                       agent connections asked for, not yet ready
//       "dead_reason": S | null,            throttled transport: why ...
//       "retry_at": T | null,               ... and when it is tried again
//       "rate_locked": B,                   a transport rate delay holds it
//       "unused_recipient_slots": N,        the preemptive scheduler's spare slots
//       "destinations": [ {                 in scheduling order
//         "name": S, "nexthop": S,
//         "state": "ready" | "throttled" | "suspended",   (suspended: rate delay)
//         "window": N,                      the concurrency window now
//         "busy": N, "todo": N,             entries in flight and waiting
//         "todo_recipients": N,             recipients in the waiting entries
//         "dead_reason": S | null,          throttled (dead) site: why ...
//         "retry_at": T | null,             ... and when it is tried again
//         "rate_delay_until": T | null,     the destination rate delay's pause ends
//         "rate_limit_tokens": N | null,    the N/period rate limit: tokens left (null: no limit)
//         "next_token_at": T | null         ... and when the next one comes
//       } ],
//       "jobs": [ {                         the preemptive scheduler's jobs, in order
//         "queue_id": S,
//         "current": B, "blocker": B,
//         "stack_level": N,                 0 normal, > 0 preempting (stack depth)
//         "preempts": S | null,             queue ID of the job it preempted
//         "slots_used": N, "slots_available": N,
//         "selected_entries": N, "read_entries": N,
//         "recipients": N, "recipient_limit": N
//       } ]
//     } ],
//     "deliveries": [ {                     since the qmgr started (added in
//       "transport": S,                     version 1 without a change: readers
//       "result": "ok" | "deferred"         of older documents see no counts)
//               | "crashed" | "unsent",     how the agent's reply ended the request:
//                                           ok = every recipient delivered or
//                                           bounced; deferred = some to retry;
//                                           crashed = no or malformed reply;
//                                           unsent = request not written
//       "requests": N, "recipients": N      (only outcomes that happened appear)
//     } ]
//   }
//
// N: a JSON integer; S: a string; B: true or false; T: Unix time in seconds
// (wall clock, up to three decimals). The scheduler keeps times on its own
// (usually monotonic) clock; the caller passes both clocks' "now" and every
// time is shifted by their difference, so a time is wall-clock correct to
// within the clocks' drift since "now".

import QmgrCore

public enum QueryDocument {
    public static let version = 1

    /// The document for `snapshot`, taken at `schedulerNow` on the
    /// scheduler's clock, which was `unixNow` on the wall clock.
    public static func json(_ snapshot: SchedulerSnapshot, schedulerNow: Double, unixNow: Double) -> String {
        value(snapshot, schedulerNow: schedulerNow, unixNow: unixNow).text
    }

    public static func value(_ snapshot: SchedulerSnapshot, schedulerNow: Double, unixNow: Double) -> JSONValue {
        let clock = ClockShift(offset: unixNow - schedulerNow)
        return .object([
            ("version", .number(Double(version))),
            ("generated", .number(unixNow)),
            ("active", .object([
                ("messages", count(snapshot.messages)), ("message_limit", count(snapshot.messageLimit)),
                ("recipients", count(snapshot.recipients)), ("recipient_limit", count(snapshot.recipientLimit)),
            ])),
            ("transports", .array(snapshot.transports.map { transport($0, clock) })),
            ("deliveries", .array(snapshot.deliveries.map(delivery))),
        ])
    }

    private static func transport(_ t: TransportSnapshot, _ clock: ClockShift) -> JSONValue {
        .object([
            ("name", .string(t.name)),
            ("concurrency_limit", count(t.concurrencyLimit)), ("recipient_limit", count(t.recipientLimit)),
            ("busy", count(t.busy)), ("pending", count(t.pending)),
            ("dead_reason", text(t.deadReason)), ("retry_at", clock.unix(t.retryAt)),
            ("rate_locked", .bool(t.rateLocked)),
            ("unused_recipient_slots", count(t.unusedRecipientSlots)),
            ("destinations", .array(t.destinations.map { destination($0, clock) })),
            ("jobs", .array(t.jobs.map(job))),
        ])
    }

    private static func destination(_ d: DestinationSnapshot, _ clock: ClockShift) -> JSONValue {
        .object([
            ("name", .string(d.name)), ("nexthop", .string(d.nexthop)), ("state", .string(d.state)),
            ("window", count(d.window)), ("busy", count(d.busy)), ("todo", count(d.todo)),
            ("todo_recipients", count(d.todoRecipients)),
            ("dead_reason", text(d.deadReason)), ("retry_at", clock.unix(d.retryAt)),
            ("rate_delay_until", clock.unix(d.resumeAt)),
            ("rate_limit_tokens", d.rateLimitTokens.map(count) ?? .null),
            ("next_token_at", clock.unix(d.nextTokenAt)),
        ])
    }

    private static func job(_ j: JobSnapshot) -> JSONValue {
        .object([
            ("queue_id", .string(j.queueID)), ("current", .bool(j.current)), ("blocker", .bool(j.blocker)),
            ("stack_level", count(j.stackLevel)), ("preempts", text(j.preempts)),
            ("slots_used", count(j.slotsUsed)), ("slots_available", count(j.slotsAvailable)),
            ("selected_entries", count(j.selectedEntries)), ("read_entries", count(j.readEntries)),
            ("recipients", count(j.recipients)), ("recipient_limit", count(j.recipientLimit)),
        ])
    }

    private static func delivery(_ d: DeliveryCount) -> JSONValue {
        .object([
            ("transport", .string(d.transport)), ("result", .string(d.result.rawValue)),
            ("requests", count(d.requests)), ("recipients", count(d.recipients)),
        ])
    }

    private static func count(_ n: Int) -> JSONValue { .number(Double(n)) }
    private static func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
}

/// Scheduler-clock times to Unix times.
struct ClockShift {
    let offset: Double
    func unix(_ time: Double?) -> JSONValue { time.map { .number($0 + offset) } ?? .null }
}
