// AgentConnections.swift - the queue manager's connections to delivery
// agents, one DeliveryChannel each, driven by host watches (readiness) and
// checked against their deadlines from the loop hook. For each connection,
// in stock's order: connect (non-blocking); when the agent has greeted or
// the attempt failed, tell the scheduler (`connectionCompleted`) and wait
// the transport rate delay it returns; then either pick the entry
// (`selectDelivery`) and send its request, or close the connection when
// there is nothing to deliver; when it ends, apply DeliveryVerdict's
// judgement to the scheduler and log stock's warnings.
// Guarantees: nothing here blocks on an agent; a descriptor is watched for
// exactly what its conversation waits for and is unwatched before anything
// else can reuse its number; every connection ends with exactly one
// `apply`, so the scheduler's entries and pending counts stay true.
import MailQueue
import PluginAPI
import QmgrCore
import QmgrDelivery

final class AgentConnection {
    let channel: DeliveryChannel
    /// The host's watch on the channel's descriptor.
    let watch: ConversationWatch
    /// `connectionCompleted` was called; the connection may proceed at `readyAt`.
    var completed = false
    var readyAt = 0.0
    /// The selection was made (a request sent, or none to send).
    var selected = false
    var delivery: Delivery?

    init(_ channel: DeliveryChannel, host: ServiceHost) {
        self.channel = channel
        watch = ConversationWatch(host: host)
    }
}

final class AgentConnections {
    private let host: ServiceHost
    private let scheduler: Scheduler
    private let messages: ActiveMessages
    private let intake: MessageIntake
    private let queueDirectory: String
    private let timeouts: ExchangeTimeouts
    /// The connections in progress (a handful: at most the transports'
    /// concurrency limits), in an array that the loop hook scans cheaply.
    private var live: [AgentConnection] = []

    init(host: ServiceHost, scheduler: Scheduler, messages: ActiveMessages, intake: MessageIntake,
         queueDirectory: String, timeouts: ExchangeTimeouts) {
        self.host = host
        self.scheduler = scheduler
        self.messages = messages
        self.intake = intake
        self.queueDirectory = queueDirectory
        self.timeouts = timeouts
    }

    var count: Int { live.count }

    /// Opens a connection for every transport the scheduler wants served now.
    func openWanted(now: Double) {
        while let transport = scheduler.nextConnection(now: now) {
            let connection = AgentConnection(DeliveryChannel(transport: transport, queueDirectory: queueDirectory,
                                                             timeouts: timeouts, now: now), host: host)
            live.append(connection)
            advance(connection, now: now)
        }
    }

    /// Deadlines and rate-delay waits that are due.
    /// (Runs every loop iteration: it looks at the connections only when
    /// `earliestDue` has come, and allocates nothing unless something is due.)
    func checkTimes(now: Double) {
        guard earliestDue <= now else { return }
        earliestDue = .infinity
        var due: [AgentConnection] = []
        for connection in live {
            let time = dueTime(connection)
            if time <= now { due.append(connection) } else { earliestDue = min(earliestDue, time) }
        }
        for connection in due {
            if let deadline = connection.channel.deadline, deadline <= now {
                connection.channel.checkDeadline(now: now)
            }
            advance(connection, now: now)
        }
    }

    /// When the connection has something timed to do: its deadline, or the
    /// end of its rate-delay wait.
    private func dueTime(_ connection: AgentConnection) -> Double {
        var due = connection.channel.deadline ?? .infinity
        if connection.completed && !connection.selected { due = min(due, connection.readyAt) }
        return due
    }

    /// No connection has anything timed to do before this: a lower bound,
    /// lowered whenever a connection moves on (every move ends in `watch` or
    /// `finish`) and made exact by each `checkTimes` that looks.
    private var earliestDue = Double.infinity

    /// The earliest time `checkTimes` has something to do (possibly a little
    /// early); nil: nothing timed.
    func nextTime() -> Double? {
        earliestDue == .infinity ? nil : earliestDue
    }

    private func handle(_ connection: AgentConnection, _ events: ReadyEvents) {
        let now = Clock.now()
        connection.channel.handle(events, now: now)
        advance(connection, now: now)
    }

    /// Moves the connection on as far as it can go now.
    private func advance(_ connection: AgentConnection, now: Double) {
        let channel = connection.channel
        if !connection.completed {
            guard channel.isReadyForRequest || channel.outcome != nil else { return watch(connection) }
            connection.completed = true
            connection.readyAt = now + Double(scheduler.connectionCompleted(transport: channel.transport))
        }
        guard connection.readyAt <= now else { return watch(connection) }
        if !connection.selected && channel.isReadyForRequest {
            connection.selected = true
            select(for: connection, now: now)
        }
        if let outcome = channel.outcome { return finish(connection, outcome, now: now) }
        watch(connection)
    }

    private func select(for connection: AgentConnection, now: Double) {
        let channel = connection.channel
        let delivery: Delivery?
        do {
            delivery = try scheduler.selectDelivery(transport: channel.transport, now: now) { [intake] id, limit in
                intake.readMore(queueID: id, limit: limit)
            }
        } catch {
            host.fatal(error.description)
        }
        guard let delivery else { return channel.abandon() }
        guard let message = messages[delivery.queueID] else {
            host.fatal("\(delivery.queueID): selected for delivery but not in the active queue")
        }
        connection.delivery = delivery
        channel.send(message.request(for: delivery), now: now)
    }

    /// (`live` lets go of the connection last: the watch handler that may
    /// have called this held it, and is gone after `unwatch`.)
    private func finish(_ connection: AgentConnection, _ outcome: DeliveryOutcome, now: Double) {
        unwatch(connection)
        let channel = connection.channel
        let verdict = DeliveryVerdict.judge(outcome, transport: channel.transport,
                                            queueID: connection.delivery?.queueID ?? "")
        for warning in verdict.warnings { host.warning(warning) }
        if let fatal = verdict.fatal { host.fatal(fatal) }
        scheduler.apply(verdict, transport: channel.transport, deliveryID: connection.delivery?.id, now: now)
        if let index = live.firstIndex(where: { $0 === connection }) { live.remove(at: index) }
    }

    // MARK: watches

    /// Makes the host's watch match what the conversation waits for.
    /// (The handler holds the connection strongly: the host drops it when
    /// the watch is removed, which `finish` does before forgetting the connection.)
    private func watch(_ connection: AgentConnection) {
        earliestDue = min(earliestDue, dueTime(connection))
        connection.watch.update(connection.channel, peer: connection.channel.exchange.peer) {
            { [self, connection] events in self.handle(connection, events) }
        }
    }

    private func unwatch(_ connection: AgentConnection) {
        connection.watch.clear()
    }
}
