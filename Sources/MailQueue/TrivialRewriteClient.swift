// TrivialRewriteClient: the resolve and rewrite requests of trivial-rewrite(8)
// over its attr0 protocol ("trivial_rewrite_protocol"), as Postfix's
// resolve_clnt and rewrite_clnt make them:
//   resolve: request=resolve|verify, sender, address
//            -> flags (server), transport, nexthop, recipient, flags (resolve)
//   rewrite: request=rewrite, rule, address -> flags (server), address
// A non-zero server flag asks the client to reconnect: the connection is
// dropped after that reply. Like stock, a reply with an empty transport, or
// an empty recipient for a non-empty address, is a failure; identical
// queries within `cacheLifetime` seconds are answered from a one-entry cache.
// Unlike stock, a failure is returned to the caller (stock sleeps a second
// and retries forever): what to do is the caller's policy.

public struct ResolveFlags: OptionSet, Equatable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let final = ResolveFlags(rawValue: 1)
    public static let routed = ResolveFlags(rawValue: 2)
    /// Bad address syntax.
    public static let error = ResolveFlags(rawValue: 4)
    /// Table lookup failed: try again later.
    public static let fail = ResolveFlags(rawValue: 8)
    public static let classLocal = ResolveFlags(rawValue: 256)
    public static let classAlias = ResolveFlags(rawValue: 512)
    public static let classVirtual = ResolveFlags(rawValue: 1024)
    public static let classRelay = ResolveFlags(rawValue: 2048)
    public static let classDefault = ResolveFlags(rawValue: 4096)

    public var description: String {
        let names: [(ResolveFlags, String)] = [(.final, "final"), (.routed, "routed"), (.error, "error"), (.fail, "fail"),
                                               (.classLocal, "local"), (.classAlias, "alias"), (.classVirtual, "virtual"),
                                               (.classRelay, "relay"), (.classDefault, "default")]
        let known = names.filter { contains($0.0) }.map(\.1)
        let rest = rawValue & ~names.reduce(0) { $0 | $1.0.rawValue }
        return (known + (rest != 0 ? ["0x" + String(rest, radix: 16)] : [])).joined(separator: ",")
    }
}

public struct ResolveReply: Equatable, Sendable {
    public var transport: ByteString
    public var nexthop: ByteString
    public var recipient: ByteString
    public var flags: ResolveFlags

    public init(transport: ByteString, nexthop: ByteString, recipient: ByteString, flags: ResolveFlags) {
        self.transport = transport
        self.nexthop = nexthop
        self.recipient = recipient
        self.flags = flags
    }
}

public final class TrivialRewriteClient {
    public static let protocolName = "trivial_rewrite_protocol"
    public let service: ServiceClient
    public var cacheLifetime: Double

    private struct CacheEntry { let key: [ByteString]; let reply: Reply; let expires: Double }
    private enum Reply { case resolved(ResolveReply), rewritten(ByteString) }
    private var cache: CacheEntry?

    /// `queueDirectory`: the instance's queue_directory; `serviceName`:
    /// rewrite_service_name (the socket is private/<name>).
    public convenience init(queueDirectory: String, serviceName: String = "rewrite", timeout: Double = 60,
                            cacheLifetime: Double = 30) {
        self.init(service: ServiceClient(path: queueDirectory + "/private/" + serviceName, peer: "private/" + serviceName,
                                         protocolName: TrivialRewriteClient.protocolName, timeout: timeout),
                  cacheLifetime: cacheLifetime)
    }

    public init(service: ServiceClient, cacheLifetime: Double = 30) {
        self.service = service
        self.cacheLifetime = cacheLifetime
    }

    /// Resolves `address` (internal form) for `sender`; `verify` asks for
    /// the address-verification view (request "verify", used for probes).
    public func resolve(_ address: ByteString, sender: ByteString, verify: Bool = false) throws(AttrError) -> ResolveReply {
        let request: ByteString = verify ? "verify" : "resolve"
        let key = [request, sender, address]
        if !address.isEmpty, case .resolved(let r)? = cached(key) { return r }
        let reply = try service.exchange(AttrList([.string("request", request), .string("sender", sender),
                                                   .string("address", address)]))
        var s = AttrScanner(reply, peer: service.peer)
        let serverFlags = try s.int("flags")
        let result = ResolveReply(transport: try s.string("transport"), nexthop: try s.string("nexthop"),
                                  recipient: try s.string("recipient"), flags: ResolveFlags(rawValue: try s.int("flags")))
        try s.finish()
        if serverFlags != 0 { service.disconnect() }
        if result.transport.isEmpty {
            throw AttrError(peer: service.peer, problem: .badReply("null transport result for: <\(address)>"))
        }
        if result.recipient.isEmpty && !address.isEmpty {
            throw AttrError(peer: service.peer, problem: .badReply("null recipient result for: <\(address)>"))
        }
        remember(key, .resolved(result))
        return result
    }

    /// Rewrites `address` (external form) with `rule` ("local" or "remote" ruleset).
    public func rewrite(_ address: ByteString, rule: String = "local") throws(AttrError) -> ByteString {
        let key = [ByteString("rewrite"), ByteString(rule), address]
        if case .rewritten(let r)? = cached(key) { return r }
        let reply = try service.exchange(AttrList([.string("request", "rewrite"), .string("rule", ByteString(rule)),
                                                   .string("address", address)]))
        var s = AttrScanner(reply, peer: service.peer)
        let serverFlags = try s.int("flags")
        let result = try s.string("address")
        try s.finish()
        if serverFlags != 0 { service.disconnect() }
        remember(key, .rewritten(result))
        return result
    }

    /// `rewrite` for an internal-form address (rewrite_clnt_internal): quoted
    /// to the external form for the request, the result unquoted again.
    public func rewriteInternal(_ address: ByteString, rule: String = "local") throws(AttrError) -> ByteString {
        AddressQuoting.internal(try rewrite(AddressQuoting.external(address), rule: rule))
    }

    private func cached(_ key: [ByteString]) -> Reply? {
        guard let c = cache, c.key == key, Clock.now() < c.expires else { return nil }
        return c.reply
    }

    private func remember(_ key: [ByteString], _ reply: Reply) {
        cache = cacheLifetime > 0 ? CacheEntry(key: key, reply: reply, expires: Clock.now() + cacheLifetime) : nil
    }
}
