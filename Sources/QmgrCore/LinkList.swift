// LinkList: an intrusive doubly linked list of class instances. The
// scheduler's lists (queues of a transport, jobs in scheduler and time order,
// entries of a queue and of a peer) need O(1) removal from the middle, insertion
// next to a known member and rotation, at active-queue sizes (20,000 messages).
// Guarantees: a Link is in at most one list at a time (linking a linked Link
// traps: a scheduler bug, not input); `count` is exact; iteration reads
// `next` before handing out an element, so the element handed out may be
// removed during the iteration.
// The back references (`previous`, `lastLink`) are unowned, not weak: a
// linked Link is always held by its predecessor's `next` (or `firstLink`),
// so they never outlive their target while linked, and unowned costs no
// side table per Link.

final class Link<Element: AnyObject> {
    unowned let element: Element
    fileprivate(set) var next: Link?
    fileprivate(set) unowned var previous: Link?
    fileprivate(set) var isLinked = false

    init(_ element: Element) { self.element = element }
}

struct LinkList<Element: AnyObject>: Sequence {
    private(set) var firstLink: Link<Element>?
    private(set) unowned var lastLink: Link<Element>?
    private(set) var count = 0

    var first: Element? { firstLink?.element }
    var last: Element? { lastLink?.element }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ link: Link<Element>) { insert(link, after: lastLink) }

    mutating func prepend(_ link: Link<Element>) { insert(link, after: nil) }

    /// Inserts after `anchor`; nil inserts at the front.
    mutating func insert(_ link: Link<Element>, after anchor: Link<Element>?) {
        precondition(!link.isLinked, "LinkList: link already in a list")
        let following = anchor == nil ? firstLink : anchor?.next
        link.previous = anchor
        link.next = following
        if let anchor { anchor.next = link } else { firstLink = link }
        if let following { following.previous = link } else { lastLink = link }
        link.isLinked = true
        count += 1
    }

    /// Inserts before `anchor`; nil appends.
    mutating func insert(_ link: Link<Element>, before anchor: Link<Element>?) {
        insert(link, after: anchor == nil ? lastLink : anchor?.previous)
    }

    mutating func remove(_ link: Link<Element>) {
        precondition(link.isLinked, "LinkList: link not in a list")
        if let previous = link.previous { previous.next = link.next } else { firstLink = link.next }
        if let next = link.next { next.previous = link.previous } else { lastLink = link.previous }
        link.next = nil
        link.previous = nil
        link.isLinked = false
        count -= 1
    }

    /// Round robin: `link` becomes the last member (QMGR_LIST_ROTATE).
    mutating func rotateToEnd(_ link: Link<Element>) {
        remove(link)
        append(link)
    }

    struct Iterator: IteratorProtocol {
        var upcoming: Link<Element>?
        mutating func next() -> Element? {
            guard let link = upcoming else { return nil }
            upcoming = link.next
            return link.element
        }
    }

    func makeIterator() -> Iterator { Iterator(upcoming: firstLink) }
}
