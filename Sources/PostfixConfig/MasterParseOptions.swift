// MasterParseOptions: the main.cf settings that shape master.cf parsing.
// Guarantees: init(main:) reads exactly the parameters the stock master
// consults (default_process_limit, compatibility_level,
// master_service_disable, inet_interfaces, inet_protocols, known_tcp_ports)
// and applies the stock rule that disables all inet services when
// inet_protocols enables no protocol, recording the stock warnings.

public struct MasterParseOptions: Sendable {
    public var defaultProcessLimit: Int
    public var compatibilityLevel: String      // chroot default y when level < 1 (and an info message per line)
    public var disabled: ServiceDisableFilter
    public var inetInterfaces: String          // "all", "loopback-only", "127.0.0.1", ...
    public var inetProtocols: String           // "all", "ipv4", "ipv6", "ipv4, ipv6"
    public var knownTcpPorts: String           // e.g. "lmtp=24, smtp=25, smtps=submissions=465, submission=587"
    /// Stock warnings produced while deriving the options.
    public private(set) var warnings: [String] = []

    public init(main: MainConfig) throws {
        self.init(defaultProcessLimit: try main.integer("default_process_limit"),
                  compatibilityLevel: try main.value("compatibility_level"),
                  disabled: ServiceDisableFilter(try main.value("master_service_disable")),
                  inetInterfaces: try main.value("inet_interfaces"),
                  inetProtocols: try main.value("inet_protocols"),
                  knownTcpPorts: try main.value("known_tcp_ports"))
        guard CompatibilityLevel(compatibilityLevel) != nil else {
            throw ConfigError("malformed compatibility level syntax: \"\(compatibilityLevel)\"")
        }
        if try InetProtocols.parse(inetProtocols).isEmpty {
            warnings.append("all network protocols are disabled (inet_protocols = \(inetProtocols))")
            warnings.append("disabling all type \"inet\" services in master.cf")
            disabled = disabled.disablingFirst(type: "inet")
        }
    }

    public init(defaultProcessLimit: Int, compatibilityLevel: String, disabled: ServiceDisableFilter,
                inetInterfaces: String, inetProtocols: String, knownTcpPorts: String) {
        self.defaultProcessLimit = defaultProcessLimit
        self.compatibilityLevel = compatibilityLevel
        self.disabled = disabled
        self.inetInterfaces = inetInterfaces
        self.inetProtocols = inetProtocols
        self.knownTcpPorts = knownTcpPorts
    }

    /// Stock chroot default: "y" below compatibility level 1.
    var chrootDefaultsToYes: Bool {
        guard let level = CompatibilityLevel(compatibilityLevel) else { return true }
        return level.major < 1
    }
}
