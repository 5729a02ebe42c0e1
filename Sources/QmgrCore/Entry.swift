// Entry: one delivery request in the making — up to the transport's
// recipient limit of recipients of one message for one destination queue. It
// sits on its queue's todo list and its peer's list until selected, then on
// the queue's busy list until the agent replies. Guarantees: an entry is on
// exactly one of its queue's lists while it exists; its recipients keep
// the order in which they were assigned.
import MailQueue

final class Entry {
    unowned let message: Message
    unowned let peer: Peer
    unowned let queue: DestinationQueue
    var recipients: [QueuedRecipient] = []
    /// Set while busy: the Delivery.id the caller knows it by.
    var deliveryID: Int?
    private(set) lazy var queueLink = Link(self)
    private(set) lazy var peerLink = Link(self)

    init(message: Message, peer: Peer, queue: DestinationQueue) {
        self.message = message
        self.peer = peer
        self.queue = queue
    }
}
