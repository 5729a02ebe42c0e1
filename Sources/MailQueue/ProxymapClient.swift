// ProxymapClient: read-only table lookups through Postfix's proxymap(8)
// service, the way stock's dict_proxy client asks it: a kept-open
// connection to private/<proxymap_service_name> (ServiceClient: the server
// announces "proxymap_protocol"), one list per request (`request`, `table`,
// `flags`, then `key` for a lookup) and one list per reply (`status`, then
// `flags` for an open, `value` for a lookup). The table name is sent
// without "proxy:" prefixes; proxymap answers only for tables listed as
// "proxy:type:name" in proxy_read_maps.
// Guarantees: every outcome other than found / not found is a thrown
// ProxymapError naming the service and the table (unreachable service,
// refused table, lookup error, malformed reply); nothing traps, and each
// exchange is bounded by `timeout`. Open answers are cached per table.

public enum ProxymapProtocol {
    public static let name = "proxymap_protocol"
    public static let open = "open"
    public static let lookup = "lookup"

    /// Reply statuses (PROXY_STAT_*).
    public enum Status: Int, Sendable, Equatable {
        case ok = 0, noKey = 1, retry = 2, bad = 3, deny = 4, config = 5
    }

    /// Dictionary flags the client sends or reads (DICT_FLAG_*).
    public static let fixedKeys: UInt32 = 1 << 4
    public static let lock: UInt32 = 1 << 6
    public static let utf8Request: UInt32 = 1 << 19
    /// The flags a match list opens its tables with (lock, UTF-8 request).
    public static let matchListFlags: UInt32 = lock | utf8Request
    /// Flags the server reports about its table (fixed keys, patterns, multi-writer).
    static let implementationMask: UInt32 = fixedKeys | 1 << 5 | 1 << 18
    /// Flags a client sets per request (case folding, locking, duplicates,
    /// sync, paranoia, UTF-8).
    static let requestMask: UInt32 = 1 << 14 | 1 << 15 | lock | 1 << 7 | 1 << 0 | 1 << 1 | 1 << 8
        | 1 << 11 | 1 << 12 | 1 << 13 | utf8Request
    /// What an open request carries: the rest (DICT_FLAG_INST_MASK).
    public static let instanceMask: UInt32 = ~(implementationMask | requestMask)

    /// The table name as proxymap wants it: without leading "proxy:" prefixes.
    public static func tableName(_ pattern: String) -> String {
        var name = Substring(pattern)
        while name.hasPrefix("proxy:") { name = name.dropFirst(6) }
        return String(name)
    }

    public static func openRequest(table: String, flags: UInt32) -> AttrList {
        AttrList([.string("request", ByteString(open)), .string("table", ByteString(table)),
                  .int("flags", Int(flags & instanceMask))])
    }

    public static func lookupRequest(table: String, flags: UInt32, key: ByteString) -> AttrList {
        AttrList([.string("request", ByteString(lookup)), .string("table", ByteString(table)),
                  .int("flags", Int(flags)), .string("key", key)])
    }

    /// An open reply: its status and the server's table flags.
    public static func openReply(_ list: AttrList, peer: String) throws(AttrError) -> (Int, UInt32) {
        var scanner = AttrScanner(list, peer: peer)
        let status = try scanner.signedInt("status")
        let flags = try scanner.int("flags")
        try scanner.finish()
        return (status, flags)
    }

    /// A lookup reply: its status and value.
    public static func lookupReply(_ list: AttrList, peer: String) throws(AttrError) -> (Int, ByteString) {
        var scanner = AttrScanner(list, peer: peer)
        let status = try scanner.signedInt("status")
        let value = try scanner.string("value")
        try scanner.finish()
        return (status, value)
    }
}

public struct ProxymapError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        /// The service could not be reached or answered garbage.
        case service(AttrError)
        /// The server answered a status other than found / not found.
        case status(ProxymapProtocol.Status?, Int)
    }
    public let service: String
    public let table: String
    public let problem: Problem

    public init(service: String, table: String, problem: Problem) {
        self.service = service
        self.table = table
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .service(let error): return "\(service) service, table \"\(table)\": \(error)"
        case .status(.deny, _):
            return "\(service) service is not configured for table \"\(table)\" (list proxy:\(table) in main.cf:proxy_read_maps)"
        case .status(.bad, _): return "\(service) request for table \"\(table)\": invalid request"
        case .status(.retry, _): return "\(service) lookup in table \"\(table)\": temporary error"
        case .status(.config, _): return "\(service) lookup in table \"\(table)\": configuration error"
        case .status(_, let raw): return "\(service) request for table \"\(table)\": unexpected reply status \(raw)"
        }
    }
}

public final class ProxymapClient {
    public let service: String
    private let connection: ServiceClient
    /// Server flags per table, from its open reply.
    private var opened: [String: UInt32] = [:]

    /// `queueDirectory`: where private/ is ("." for a process that runs in
    /// the queue directory or its jail); `service`: proxymap_service_name.
    public init(queueDirectory: String, service: String = "proxymap", timeout: Double = 60) {
        self.service = service
        let peer = "private/" + service
        connection = ServiceClient(path: queueDirectory + "/" + peer, peer: peer,
                                   protocolName: ProxymapProtocol.name, timeout: timeout)
    }

    /// Whether `table` has fixed keys (so parent domains are looked up too).
    public func hasFixedKeys(_ table: String, flags: UInt32 = ProxymapProtocol.matchListFlags) throws(ProxymapError) -> Bool {
        if let known = opened[table] { return known & ProxymapProtocol.fixedKeys != 0 }
        let (status, serverFlags) = try exchange(table) { (peer) throws(AttrError) in
            try ProxymapProtocol.openReply(try self.connection.exchange(ProxymapProtocol.openRequest(table: table, flags: flags)),
                                           peer: peer)
        }
        guard status == ProxymapProtocol.Status.ok.rawValue else { throw failure(table, status) }
        opened[table] = serverFlags
        return serverFlags & ProxymapProtocol.fixedKeys != 0
    }

    /// The value for `key`, nil when the table has none.
    public func lookup(_ table: String, key: ByteString, flags: UInt32 = ProxymapProtocol.matchListFlags) throws(ProxymapError) -> ByteString? {
        let (status, value) = try exchange(table) { (peer) throws(AttrError) in
            try ProxymapProtocol.lookupReply(try self.connection.exchange(ProxymapProtocol.lookupRequest(table: table, flags: flags, key: key)),
                                             peer: peer)
        }
        switch ProxymapProtocol.Status(rawValue: status) {
        case .ok: return value
        case .noKey: return nil
        default: throw failure(table, status)
        }
    }

    public func disconnect() { connection.disconnect() }

    private func exchange<T>(_ table: String, _ body: (String) throws(AttrError) -> T) throws(ProxymapError) -> T {
        do {
            return try body(connection.peer)
        } catch {
            connection.disconnect()
            throw ProxymapError(service: service, table: table, problem: .service(error))
        }
    }

    private func failure(_ table: String, _ status: Int) -> ProxymapError {
        ProxymapError(service: service, table: table, problem: .status(ProxymapProtocol.Status(rawValue: status), status))
    }
}
