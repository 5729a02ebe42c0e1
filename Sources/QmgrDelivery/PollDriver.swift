// PollDriver: runs one ReadinessDriven conversation until it settles,
// waiting with poll(2) on its descriptor and checking its deadline, for
// callers that may block (tests, a bounded synchronous status request).
// The conversation's own deadlines bound the wait; `limit` (seconds,
// monotonic) is an extra bound after which the conversation is abandoned
// through `giveUp`. Interrupted polls are retried.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public enum PollDriver {
    /// Drives `conversation` until it is settled; returns false if `limit` passed first.
    @discardableResult
    public static func run(_ conversation: ReadinessDriven, limit: Double = .infinity,
                           giveUp: () -> Void = {}) -> Bool {
        let end = Clock.now() + limit
        while !conversation.isSettled {
            let now = Clock.now()
            conversation.checkDeadline(now: now)
            if conversation.isSettled { break }
            guard now < end else {
                giveUp()
                return false
            }
            guard let fd = conversation.descriptor else { break }
            let events: Int16
            switch conversation.interest {
            case .readable: events = Int16(POLLIN)
            case .writable: events = Int16(POLLOUT)
            case .none: return true
            }
            let until = min(end, conversation.deadline ?? end)
            let wait = max(0, min(until - now, 3600))
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, Int32(wait * 1000) + 1)
            if n < 0 && errno != EINTR { break }
            if n > 0 { conversation.handle(readyEvents(p.revents), now: Clock.now()) }
        }
        return true
    }

    static func readyEvents(_ revents: Int16) -> ReadyEvents {
        var e: ReadyEvents = []
        if revents & Int16(POLLIN) != 0 { e.insert(.readable) }
        if revents & Int16(POLLOUT) != 0 { e.insert(.writable) }
        if revents & Int16(POLLHUP) != 0 { e.insert(.hangup) }
        if revents & Int16(POLLERR | POLLNVAL) != 0 { e.insert(.error) }
        return e
    }
}
