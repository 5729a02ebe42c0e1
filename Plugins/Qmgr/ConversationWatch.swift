// ConversationWatch.swift - keeps the host's watch on one non-blocking
// conversation (ReadinessDriven: a delivery agent, or bounce/defer/trace)
// matching what the conversation waits for: its descriptor, readable or
// writable, or nothing.
// Guarantees: at most one host watch per conversation; the watch is changed
// in place (set_watch_mask) when only the mask changes, and removed before
// the conversation closes its descriptor (its `willClose` hook, set with
// the watch), so the host never unwatches a number that is already closed.
// A watch the host refuses is logged; the conversation's deadline then ends
// it, so nothing waits forever.
import PluginAPI
import QmgrDelivery

final class ConversationWatch {
    private let host: ServiceHost
    /// What the host watches now.
    private(set) var watched: (fd: Int32, mask: EventMask)?

    init(host: ServiceHost) { self.host = host }

    /// Makes the host's watch match `conversation`; the handler `onReady`
    /// makes is called with the events of a watch made now (the same handler
    /// stays on a watch whose mask changes; `onReady` is called only when a
    /// watch is made, so an unchanged watch allocates nothing). `peer` names
    /// the conversation in a warning.
    func update(_ conversation: ReadinessDriven, peer: @autoclosure () -> String,
                onReady: () -> (ReadyEvents) -> Void) {
        var wanted: (fd: Int32, mask: EventMask)?
        if let fd = conversation.descriptor {
            switch conversation.interest {
            case .readable: wanted = (fd, .read)
            case .writable: wanted = (fd, .write)
            case .none: wanted = nil
            }
        }
        if let current = watched, current.fd == wanted?.fd, current.mask == wanted?.mask { return }
        do {
            if let wanted, let current = watched, current.fd == wanted.fd {
                try host.setWatchMask(wanted.fd, to: wanted.mask)
            } else {
                clear()
                if let wanted {
                    let handler = onReady()
                    try host.watch(wanted.fd, for: wanted.mask) { _, events in handler(Self.readiness(events)) }
                    conversation.willClose = { [weak self] fd in
                        if self?.watched?.fd == fd { self?.clear() }
                    }
                }
            }
            watched = wanted
        } catch {
            host.warning("\(peer()): \(error)")
        }
    }

    /// Removes the watch, if any.
    func clear() {
        if let current = watched { host.unwatch(current.fd) }
        watched = nil
    }

    static func readiness(_ events: EventMask) -> ReadyEvents {
        var ready: ReadyEvents = []
        if events.contains(.read) { ready.insert(.readable) }
        if events.contains(.write) { ready.insert(.writable) }
        if events.contains(.hangUp) { ready.insert(.hangup) }
        if events.contains(.error) { ready.insert(.error) }
        return ready
    }
}
