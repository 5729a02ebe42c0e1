// QueryFixtures: what the query tests share — a real QmgrCore.Scheduler
// driven (as the qmgr plugin drives it) into a state with a busy transport
// and a throttled destination, and a small poll(2) event loop that gives
// QueryServer its QueryLoop, as the SDK's host.watch/startTimer do.
import XCTest
import Glibc
import MailQueue
import QmgrCore
import QmgrDelivery
import QmgrQuery

enum SchedulerState {
    /// smtp: down.example throttled at t=1 ("4.4.1 ... no route", retried
    /// at 301), up.example one delivery busy and two recipients waiting;
    /// one job, message "A".
    static func busyAndThrottled() throws -> Scheduler {
        let values = ["initial_destination_concurrency": "1", "smtp_destination_recipient_limit": "1"]
        let s = try Scheduler(settings: QmgrSettings(lookup: { values[$0] }))
        let assignments = ["down.example", "up.example", "up.example", "up.example"].enumerated().map { i, hop in
            Assignment(transport: "smtp", nexthop: ByteString(hop),
                       recipient: QueuedRecipient(offset: 100 + i, address: ByteString("user\(i)@\(hop)")))
        }
        try s.add(queueID: "A", batch: RecipientBatch(assignments: assignments), now: 0)
        var deliveries: [Delivery] = []
        while let transport = s.nextConnection(now: 0) {
            _ = s.connectionCompleted(transport: transport)
            guard let d = try s.selectDelivery(transport: transport, now: 0,
                                               readMore: { _, _ in RecipientBatch(assignments: []) }) else { break }
            deliveries.append(d)
        }
        let down = try XCTUnwrap(deliveries.first { $0.nexthop == ByteString("down.example") })
        let reply = DeliveryReply(hopStatus: DSN(status: "4.4.1", reason: "no route"), status: -1)
        s.apply(DeliveryVerdict.judge(.replied(reply), transport: "smtp", queueID: "A"), transport: "smtp",
                deliveryID: down.id, now: 1)
        return s
    }
}

/// A level-triggered poll(2) loop with one-shot timers, for one thread.
final class PollLoop {
    private var watches: [Int32: (writable: Bool, handler: () -> Void)] = [:]
    private var timers: [(at: Double, handler: () -> Void)] = []

    var queryLoop: QueryLoop {
        QueryLoop(watch: { [unowned self] fd, writable, handler in self.watches[fd] = (writable, handler) },
                  unwatch: { [unowned self] fd in self.watches[fd] = nil },
                  after: { [unowned self] seconds, handler in self.timers.append((PollLoop.now() + seconds, handler)) })
    }

    var watchedCount: Int { watches.count }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// One wait of at most `seconds`, then the ready handlers and due timers.
    func runOnce(_ seconds: Double = 0.05) {
        var fds = watches.map { pollfd(fd: $0.key, events: Int16($0.value.writable ? POLLOUT : POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), Int32(seconds * 1000))
        for p in fds where p.revents != 0 { watches[p.fd]?.handler() }
        let now = PollLoop.now()
        let due = timers.filter { $0.at <= now }
        timers.removeAll { $0.at <= now }
        due.forEach { $0.handler() }
    }

    /// Runs until `done()` holds or `seconds` pass; says whether it held.
    func run(until done: () -> Bool, seconds: Double) -> Bool {
        let deadline = PollLoop.now() + seconds
        while !done() {
            if PollLoop.now() > deadline { return false }
            runOnce()
        }
        return true
    }
}
