// ServiceClient: a kept-open attr0 connection to one Postfix service, the
// way clnt_stream keeps one to trivial-rewrite: connect on first use, check
// the service's protocol announcement on every new connection, close after
// `idleLimit` seconds without use or `timeToLive` seconds after connecting,
// or when the service sent something unasked (it closed or misbehaves).
// `exchange` sends one request list and returns the reply list; when a
// reused connection fails (the service dropped it), it reconnects and tries
// once more, which is safe only for requests without side effects.

public final class ServiceClient {
    public let path: String
    public let peer: String
    public let protocolName: String
    public var timeout: Double
    public var idleLimit: Double
    public var timeToLive: Double
    public let limits: AttrDecoder.Limits
    private var connection: AttrConnection?

    /// `path`: the socket (e.g. queue_directory + "/private/rewrite");
    /// `peer`: its name in errors (e.g. "private/rewrite").
    public init(path: String, peer: String, protocolName: String, timeout: Double = 60,
                idleLimit: Double = 5, timeToLive: Double = 1000, limits: AttrDecoder.Limits = AttrDecoder.Limits()) {
        self.path = path
        self.peer = peer
        self.protocolName = protocolName
        self.timeout = timeout
        self.idleLimit = idleLimit
        self.timeToLive = timeToLive
        self.limits = limits
    }

    public var isConnected: Bool { connection?.isOpen ?? false }

    /// Drops the connection; the next exchange makes a new one.
    public func disconnect() {
        connection?.close()
        connection = nil
    }

    public func exchange(_ request: AttrList) throws(AttrError) -> AttrList {
        let reused = try connectionForUse()
        do {
            return try roundTrip(request)
        } catch {
            disconnect()
            guard reused, isStaleConnectionError(error) else { throw error }
            _ = try connectionForUse()
            do {
                return try roundTrip(request)
            } catch {
                disconnect()
                throw error
            }
        }
    }

    private func roundTrip(_ request: AttrList) throws(AttrError) -> AttrList {
        guard let c = connection else { throw AttrError(peer: peer, problem: .closed) }
        try c.send(request)
        return try c.receive()
    }

    /// Makes sure a usable connection exists; true when an existing one is reused.
    private func connectionForUse() throws(AttrError) -> Bool {
        if let c = connection {
            let now = Clock.now()
            if c.isOpen && now - c.lastUsed < idleLimit && now - c.connectedAt < timeToLive && !c.hasUnexpectedInput {
                return true
            }
            disconnect()
        }
        let c = try AttrConnection(path: path, peer: peer, timeout: timeout, limits: limits)
        do {
            try c.expectGreeting(protocolName)
        } catch {
            c.close()
            throw error
        }
        connection = c
        return false
    }

    /// Errors that a connection the service closed in the meantime produces.
    private func isStaleConnectionError(_ error: AttrError) -> Bool {
        switch error.problem {
        case .prematureEnd, .io, .closed: return true
        default: return false
        }
    }
}
