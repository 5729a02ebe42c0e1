// FlushClient: the client side of the fast-flush protocol of flush(8)
// ("queue_flush_protocol"), as stock's flush_clnt offers it to defer_append,
// smtpd's ETRN and postqueue: one request per new connection to
// public/<flush_service_name>: the server announces the protocol, the client
// sends one list whose first attribute is `request` (add, send_site,
// send_file, rfrsh, purge) followed by that request's attributes, and the
// server answers one list with an INT `status`.
// As stock: `add` and `send_site` ask the server only for a site that
// matches fast_flush_domains here (else DENY, or FAIL when the list cannot
// be evaluated); `refresh` and `purge` are DENY when the list is empty.
// The list's type:table patterns are answered by the tables it loaded
// before the jail (DomainList.loadingLocalTables) and, for the rest, by
// `tables` (proxymap); without `tables` such a pattern is a FAIL.
// Guarantees: every failure to reach or understand the server is
// FlushStatus.fail, never a trap or an unbounded wait (each step is bounded
// by `timeout`).

public enum FlushStatus: Int, Sendable, Equatable {
    case fail = -1
    case ok = 0
    case bad = 3
    case deny = 4
}

/// The protocol's names, shared by the client and the flush plugin.
public enum FlushProtocol {
    public static let name = "queue_flush_protocol"
    public static let add = "add"
    public static let sendSite = "send_site"
    public static let sendFile = "send_file"
    public static let refresh = "rfrsh"
    public static let purge = "purge"
    public static let requestAttribute = "request"
    public static let siteAttribute = "site"
    public static let queueIDAttribute = "queue_id"
    public static let statusAttribute = "status"
}

public struct FlushClient {
    /// queue_directory (or "." when the process runs in it).
    public var queueDirectory: String
    /// flush_service_name.
    public var service: String
    public var domains: DomainList
    public var timeout: Double
    /// Where the list's tables that were not loaded are looked up.
    public var tables: ProxymapClient?
    /// Where a list that cannot be evaluated is reported, as stock's match
    /// list logs it (the table's own warning first, if any, then the list's).
    public var warn: (@Sendable (String) -> Void)?

    public init(queueDirectory: String, service: String = "flush", domains: DomainList, tables: ProxymapClient? = nil,
                timeout: Double = 3600, warn: (@Sendable (String) -> Void)? = nil) {
        self.queueDirectory = queueDirectory
        self.service = service
        self.domains = domains
        self.tables = tables
        self.timeout = timeout
        self.warn = warn
    }

    /// Tells flush(8) that `queueID` has mail deferred for `site` (defer_append's call).
    public func add(site: ByteString, queueID: String) -> FlushStatus {
        eligible(site) ?? request([.string(FlushProtocol.requestAttribute, ByteString(FlushProtocol.add)),
                                   .string(FlushProtocol.siteAttribute, site),
                                   .string(FlushProtocol.queueIDAttribute, ByteString(queueID))])
    }

    /// Asks for delivery of the mail logged for `site` (ETRN, postqueue -s).
    public func sendSite(_ site: ByteString) -> FlushStatus {
        eligible(site) ?? request([.string(FlushProtocol.requestAttribute, ByteString(FlushProtocol.sendSite)),
                                   .string(FlushProtocol.siteAttribute, site)])
    }

    /// Asks for delivery of one deferred message (postqueue -i).
    public func sendFile(queueID: String) -> FlushStatus {
        request([.string(FlushProtocol.requestAttribute, ByteString(FlushProtocol.sendFile)),
                 .string(FlushProtocol.queueIDAttribute, ByteString(queueID))])
    }

    public func refresh() -> FlushStatus {
        domains.isEmpty ? .deny : request([.string(FlushProtocol.requestAttribute, ByteString(FlushProtocol.refresh))])
    }

    public func purge() -> FlushStatus {
        domains.isEmpty ? .deny : request([.string(FlushProtocol.requestAttribute, ByteString(FlushProtocol.purge))])
    }

    /// nil when `site` may be sent to the server, else the answer without asking.
    private func eligible(_ site: ByteString) -> FlushStatus? {
        switch domains.match(site, tables: tables, warn: { self.warn?($0) }) {
        case .match: return nil
        case .noMatch: return .deny
        case .error(let why, let detail):
            if let detail { warn?(detail) }
            warn?(why)
            return .fail
        }
    }

    private func request(_ items: [AttrItem]) -> FlushStatus {
        let peer = "public/" + service
        do {
            let connection = try AttrConnection(path: queueDirectory + "/" + peer, peer: peer, timeout: timeout)
            defer { connection.close() }
            try connection.expectGreeting(FlushProtocol.name)
            try connection.send(items)
            var reply = try connection.receiveScanner()
            let status = try reply.signedInt(FlushProtocol.statusAttribute)
            try reply.finish()
            return FlushStatus(rawValue: status) ?? .fail
        } catch {
            return .fail
        }
    }
}
