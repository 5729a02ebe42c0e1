// CleanupClient.swift - the client side of the public cleanup protocol, as
// pickup(8), postsuper and the forwarding agents speak it: connect to the
// cleanup service, read its announcement (`protocol=cleanup_protocol`) and the queue
// ID it allocated, send the processing flags, stream records, send the END
// record and read the completion status and reason.
//
// Guarantees: every socket operation is bounded by the timeout and every
// failure is an AttrError naming the service; the flags and the records
// are buffered and written in blocks (a small message, flags to END, in
// one write, as stock's stream does). A submission abandoned half way (a malformed input
// record) is closed as stock closes its stream: what was buffered is still
// written, then the connection ends without the END record, so cleanup
// sees the same records stock's cleanup sees (and logs about them alike)
// and discards its file. Glibc only (runs in plugin workers).

/// cleanup_user.h's CLEANUP_FLAG_* bits, the `flags` attribute.
public struct CleanupFlags: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let bounce = CleanupFlags(rawValue: 1 << 0)
    public static let filter = CleanupFlags(rawValue: 1 << 1)
    public static let hold = CleanupFlags(rawValue: 1 << 2)
    public static let discard = CleanupFlags(rawValue: 1 << 3)
    public static let bccOK = CleanupFlags(rawValue: 1 << 4)
    public static let mapOK = CleanupFlags(rawValue: 1 << 5)
    public static let milter = CleanupFlags(rawValue: 1 << 6)
    public static let smtpReply = CleanupFlags(rawValue: 1 << 7)
    public static let smtputf8 = CleanupFlags(rawValue: 1 << 8)
    public static let autoUTF8 = CleanupFlags(rawValue: 1 << 9)

    /// What a service receiving mail from outside normally asks for.
    public static let external: CleanupFlags = [.filter, .milter, .bccOK, .mapOK]
}

/// cleanup's completion status (CLEANUP_STAT_* bits) with stock's texts.
public struct CleanupStatus: Equatable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let bad = 1 << 0
    public static let write = 1 << 1
    public static let size = 1 << 2
    public static let content = 1 << 3
    public static let hops = 1 << 4
    public static let recipient = 1 << 6
    public static let proxy = 1 << 7
    public static let deferred = 1 << 8
    public static let noPermission = 1 << 9
    public static let bareLF = 1 << 16

    public var isSuccess: Bool { rawValue == 0 }
    public func contains(_ bit: Int) -> Bool { rawValue & bit != 0 }

    /// cleanup_strerror(): the text of the first bit set, in stock's order.
    public var description: String {
        if rawValue == 0 { return "Success" }
        let texts: [(Int, String)] = [
            (Self.deferred, "service unavailable"), (Self.proxy, "queue file write error"),
            (Self.bad, "internal protocol error"), (Self.recipient, "no recipients specified"),
            (Self.hops, "too many hops"), (Self.size, "message file too big"),
            (Self.content, "message content rejected"), (Self.write, "queue file write error"),
            (Self.noPermission, "service denied"), (Self.bareLF, "bare <LF> received"),
        ]
        return texts.first { rawValue & $0.0 != 0 }?.1 ?? "unknown cleanup status \(rawValue)"
    }
}

/// One message on its way into cleanup.
public final class CleanupSubmission {
    /// The queue ID cleanup allocated for this message.
    public let queueID: String
    private let connection: AttrConnection
    /// Unchecked: private, and touched only by this class's non-reentrant
    /// methods; the dynamic exclusivity check cost a thread-local access set
    /// insert and removal on every record put (about 1.5 K instructions per
    /// message copied by pickup).
    @exclusivity(unchecked) private var pending: [UInt8] = []

    /// Bytes collected before a write (stock's VSTREAM buffer is 4 KiB).
    static let blockSize = 16 * 1024

    /// Connects to the cleanup socket at `path` (e.g. "public/cleanup"),
    /// reads the announcement and queue ID, and queues `flags` to go with
    /// the first block of records.
    public init(path: String, peer: String, flags: CleanupFlags, timeout: Double) throws(AttrError) {
        connection = try AttrConnection(path: path, peer: peer, timeout: timeout, blocking: false)
        do {
            var greeting = try connection.receiveScanner()
            try greeting.expect("protocol", equals: "cleanup_protocol")
            queueID = try greeting.string("queue_id").description
            try greeting.finish()
        } catch {
            connection.close()
            throw error
        }
        pending.reserveCapacity(4096)
        pending.append(contentsOf: AttrList([.int("flags", flags.rawValue)]).encoded)
    }

    deinit { connection.close() }

    /// Queues one record; written when a block is full or at `finish`.
    public func put<C: Collection>(_ type: RecordType, _ payload: C) throws(AttrError) where C.Element == UInt8 {
        putHeader(type, length: payload.count)
        pending.append(contentsOf: payload)
        if pending.count >= CleanupSubmission.blockSize { try flush() }
    }

    /// The same for bytes in an array, the usual case: a caller in another
    /// module gets this concrete version, not unspecialized generic code.
    public func put(_ type: RecordType, _ payload: [UInt8]) throws(AttrError) {
        putHeader(type, length: payload.count)
        pending.append(contentsOf: payload)
        if pending.count >= CleanupSubmission.blockSize { try flush() }
    }

    private func putHeader(_ type: RecordType, length: Int) {
        pending.append(type.rawValue)
        RecordLength.append(length, to: &pending)
    }

    public func put(_ type: RecordType, _ text: String) throws(AttrError) { try put(type, Array(text.utf8)) }

    /// Sends the END record and returns cleanup's status and reason.
    public func finish() throws(AttrError) -> (status: CleanupStatus, reason: ByteString) {
        try put(.end, [UInt8]())
        try flush()
        let reply = try connection.receive()
        guard let statusText = reply["status"] else {
            throw AttrError(peer: connection.peer, problem: .missingAttribute("status"))
        }
        guard let reason = reply["reason"] else {
            throw AttrError(peer: connection.peer, problem: .missingAttribute("reason"))
        }
        guard let raw = UInt32(statusText.description) else {
            throw AttrError(peer: connection.peer, problem: .malformedNumber(name: "status", text: statusText))
        }
        return (CleanupStatus(rawValue: Int(Int32(bitPattern: raw))), reason)
    }

    /// Ends the submission: what is buffered is written (best effort, as
    /// a stream is flushed when closed), then the connection is closed.
    /// Without END, cleanup discards what it received.
    public func close() {
        try? flush()
        pending = []
        connection.close()
    }

    private func flush() throws(AttrError) {
        guard !pending.isEmpty else { return }
        try connection.send(bytes: pending)
        pending.removeAll(keepingCapacity: true)
    }
}
