// Scheduler: the queue manager's in-memory scheduling state and its public
// face. The caller (the qmgr plugin) loads messages and talks to agents; the
// scheduler decides what is read, which transport gets an agent, which entry
// that agent delivers, and how replies change destinations and transports.
// It is pure logic: time comes in as `now` (monotonic seconds), results go
// out as return values and `takeEvents()`. Guarantees: deterministic for the
// same calls; never more messages than qmgr_message_active_limit are taken
// in while `admissionLimit()` is respected; a destination never has more
// busy entries than its window allows when they are selected.
//
// The life of a message: `admissionLimit()` → the caller reads up to that
// many recipients and resolves them → `add` → deliveries → when its last
// entry finishes, `.messageIdle` → the caller completes the round and calls
// `continueMessage` (more recipients) or `removeMessage`.
// The life of a delivery: `nextConnection()` names a transport → the caller
// connects → `connectionCompleted` (wait the returned delay) →
// `selectDelivery` → the caller sends the request → `apply` with
// QmgrDelivery's verdict on how it ended (also when no agent could be had).
import MailQueue

public final class Scheduler {
    public let settings: QmgrSettings

    var transports: [String: Transport] = [:]
    /// Transports in round-robin order (the chosen one moves to the end).
    var roundRobin = LinkList<Transport>()
    var messages: [String: Message] = [:]
    /// Entries are owned here: the lists they are on do not keep them alive.
    var liveEntries: [ObjectIdentifier: Entry] = [:]
    var busyByDeliveryID: [Int: Entry] = [:]
    var nextDeliveryID = 1
    /// Recipients in memory over all messages (qmgr_recipient_count).
    var recipientCount = 0
    var queueCount = 0
    /// Queues and transports with a timer pending (dead, suspended, token wait).
    var timedQueues: [ObjectIdentifier: DestinationQueue] = [:]
    var timedTransports: [String: Transport] = [:]
    var events: [SchedulerEvent] = []
    /// How delivery requests ended, per transport (the query interface's counters).
    var deliveryCounters = DeliveryCounters()

    /// Fails when a setting of the `retry` transport is bad: stock reads them
    /// when it first needs that transport, we read them up front.
    public init(settings: QmgrSettings) throws(QmgrConfigError) {
        self.settings = settings
        _ = try transport(named: Scheduler.retryTransport)
    }

    /// The transport that takes mail for dead transports and destinations.
    public static let retryTransport = "retry"

    /// Events produced since the last call, oldest first.
    public func takeEvents() -> [SchedulerEvent] {
        defer { events.removeAll() }
        return events
    }

    /// Messages in the active queue.
    public var messageCount: Int { messages.count }

    func log(_ line: LogLine) { events.append(.log(line)) }

    /// The transport's state, created with its settings on first use.
    func transport(named name: String) throws(QmgrConfigError) -> Transport {
        if let existing = transports[name] { return existing }
        let settings = try TransportSettings(name: name, globals: self.settings)
        for line in settings.logLines { log(line) }
        let created = Transport(settings: settings)
        transports[name] = created
        // Stock prepends new transports to its round-robin list.
        roundRobin.prepend(created.roundRobinLink)
        return created
    }

    /// The transport's settings as the scheduler uses them (e.g. for the
    /// loader's queue naming, which depends on the recipient limit).
    public func transportSettings(_ name: String) throws(QmgrConfigError) -> TransportSettings {
        try transport(named: name).settings
    }
}
