// MasterEntry: one service definition from master.cf, fully validated.
// Guarantees: every field holds its effective value ("-" already replaced by
// its default) while `fields` keeps the eight fields exactly as written;
// `key` identifies the service across duplicates and reloads.

public enum ServiceType: String, Sendable {
    case inet, unix, unixDgram = "unix-dgram", fifo, pass
}

public struct MasterEntry: Equatable, Sendable {
    public var name: String            // field 1 as written
    public var type: ServiceType
    public var isPrivate: Bool
    public var unprivileged: Bool
    public var chroot: Bool
    public var wakeupTime: Int         // 0 = none
    public var wakeupConditional: Bool // "N?" form
    public var processLimit: Int       // 0 = unlimited
    public var command: String         // field 8 token
    public var arguments: [String]     // fields 9.., brace groups collapsed to one element each
    public var line: Int               // first physical line of the logical line
    public var fields: [String]        // the 8 fields exactly as written ("-" kept)
    public var canonicalName: String   // "private/x", "public/x", "25", "[127.0.0.1]:10025", "[host]:port"
    public var addresses: [ResolvedAddress]  // inet only: listen addresses in order
    /// inet only: the port as written (name or number); nil for other types.
    public var inetPort: String?
    /// inet only: the numeric port, nil when the name is unknown (stock then
    /// fails only when it tries to listen).
    public var inetPortNumber: UInt16?

    public init(name: String, type: ServiceType, isPrivate: Bool, unprivileged: Bool, chroot: Bool,
                wakeupTime: Int, wakeupConditional: Bool, processLimit: Int, command: String,
                arguments: [String], line: Int, fields: [String], canonicalName: String,
                addresses: [ResolvedAddress], inetPort: String? = nil, inetPortNumber: UInt16? = nil) {
        self.name = name
        self.type = type
        self.isPrivate = isPrivate
        self.unprivileged = unprivileged
        self.chroot = chroot
        self.wakeupTime = wakeupTime
        self.wakeupConditional = wakeupConditional
        self.processLimit = processLimit
        self.command = command
        self.arguments = arguments
        self.line = line
        self.fields = fields
        self.canonicalName = canonicalName
        self.addresses = addresses
        self.inetPort = inetPort
        self.inetPortNumber = inetPortNumber
    }

    /// canonicalName + "/" + type: identity for duplicates and reload.
    public var key: String { canonicalName + "/" + type.rawValue }

    /// True when no client outside this host can reach the service: all
    /// local socket types, and inet services bound only to loopback
    /// addresses. (pass services may receive remote connections.)
    public var isLocalOnly: Bool {
        switch type {
        case .unix, .unixDgram, .fifo: return true
        case .pass: return false
        case .inet: return addresses.allSatisfy(\.isLoopback)
        }
    }
}
