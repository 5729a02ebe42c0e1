// AttrDecoder: turns a byte stream into attr0 lists, incrementally, so that
// a blocking client and an event-driven one can both use it: feed whatever
// bytes arrived, take complete lists out. Limits bound memory whatever the
// peer sends: one name or value longer than `maximumStringLength`, or a list
// with more than `maximumAttributes` attributes, is an error.

public struct AttrDecoder {
    public struct Limits: Equatable, Sendable {
        public var maximumStringLength: Int
        public var maximumAttributes: Int
        public init(maximumStringLength: Int = 256 * 1024, maximumAttributes: Int = 1024) {
            self.maximumStringLength = maximumStringLength
            self.maximumAttributes = maximumAttributes
        }
    }

    public let peer: String
    public let limits: Limits
    private var pending: [UInt8] = []
    private var start = 0                // first byte of `pending` not yet consumed
    private var scanned = 0              // bytes before this index are known NUL-free
    private var strings: [[UInt8]] = []  // complete strings of the list being read

    public init(peer: String, limits: Limits = Limits()) {
        self.peer = peer
        self.limits = limits
    }

    /// Bytes received but not yet part of a returned list.
    public var hasPartialInput: Bool { start < pending.count || !strings.isEmpty }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        // Drop consumed bytes now and then, not per string (that would be quadratic).
        if start > 0 && start >= pending.count / 2 {
            pending.removeSubrange(0..<start)
            scanned -= start
            start = 0
        }
        pending.append(contentsOf: bytes)
    }

    /// The next complete list, nil when more input is needed.
    public mutating func nextList() throws(AttrError) -> AttrList? {
        while let nul = pending[Swift.max(start, scanned)...].firstIndex(of: 0) {
            let string = Array(pending[start..<nul])
            start = nul + 1
            scanned = start
            // An empty string in name position ends the list.
            if strings.count % 2 == 0 && string.isEmpty {
                let list = makeList()
                strings = []
                return list
            }
            strings.append(string)
            if strings.count > 2 * limits.maximumAttributes {
                throw AttrError(peer: peer, problem: .tooManyAttributes(limit: limits.maximumAttributes))
            }
        }
        scanned = pending.count
        if pending.count - start > limits.maximumStringLength {
            throw AttrError(peer: peer, problem: .stringTooLong(limit: limits.maximumStringLength))
        }
        return nil
    }

    /// Call at end of input: an unfinished list is an error.
    public func finish(while what: String = "reading an attribute list") throws(AttrError) {
        if hasPartialInput { throw AttrError(peer: peer, problem: .prematureEnd(while: what)) }
    }

    private func makeList() -> AttrList {
        var attributes: [AttrList.Attribute] = []
        var i = 0
        while i + 1 < strings.count {
            attributes.append(.init(ByteString(strings[i]), ByteString(strings[i + 1])))
            i += 2
        }
        return AttrList(attributes)
    }

    /// Every complete list in `bytes` and whether input was left over: the
    /// entry point for fuzzing.
    public static func decodeAll(_ bytes: [UInt8], limits: Limits = Limits()) throws(AttrError) -> (lists: [AttrList], partial: Bool) {
        var decoder = AttrDecoder(peer: "(memory)", limits: limits)
        decoder.feed(bytes)
        var lists: [AttrList] = []
        while let list = try decoder.nextList() { lists.append(list) }
        return (lists, decoder.hasPartialInput)
    }
}
