// Readiness: how the queue manager's non-blocking conversations (delivery
// agents, bounce/defer/trace) are driven from outside. Each conversation
// names the one descriptor it needs watched and for what, takes readiness
// events, and has a deadline the caller checks; none of them blocks,
// sleeps or owns a timer. The plugin maps these onto host watches and
// timers; `PollDriver` runs one conversation to its end with poll(2) for
// callers that may block (a bounded wait) and for tests.

/// What the event loop reported for a descriptor.
public struct ReadyEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let readable = ReadyEvents(rawValue: 1)
    public static let writable = ReadyEvents(rawValue: 2)
    public static let hangup = ReadyEvents(rawValue: 4)
    public static let error = ReadyEvents(rawValue: 8)
}

/// What a conversation waits for next.
public enum Interest: Equatable, Sendable {
    /// Nothing to watch: finished, or waiting for the caller (e.g. a request to send).
    case none
    case readable
    case writable
}

/// One non-blocking conversation on one descriptor.
public protocol ReadinessDriven: AnyObject {
    /// The descriptor to watch; nil once the conversation has ended (it is then closed).
    var descriptor: Int32? { get }
    /// Called with `descriptor` just before the conversation closes it, so
    /// that a watch on it is removed while the number is still this
    /// conversation's (an event loop cannot unwatch a closed descriptor).
    var willClose: ((Int32) -> Void)? { get set }
    var interest: Interest { get }
    /// Monotonic time (seconds) after which `checkDeadline` ends the conversation; nil: none pending.
    var deadline: Double? { get }
    /// Called when the event loop saw `events` on `descriptor`.
    func handle(_ events: ReadyEvents, now: Double)
    /// Ends the conversation with a timeout error when `now` is past the deadline.
    func checkDeadline(now: Double)
    /// True when nothing more will happen without the caller.
    var isSettled: Bool { get }
}
