// InetResolver: turns inet service hosts and ports into listen addresses.
// Guarantees: only families enabled by inet_protocols are returned, in
// resolver order, without duplicates; the wildcard list is 0.0.0.0 before
// ::; port names go through known_tcp_ports before services(5); numeric
// hosts are printed in their canonical numeric form.

#if canImport(Glibc)
import Glibc
#endif

public struct ResolvedAddress: Equatable, Sendable {
    public let family: Int32      // AF_INET or AF_INET6
    public let host: String       // numeric, e.g. "127.0.0.1", "::1", "0.0.0.0", "::"
    public let port: UInt16       // 0 when the port name could not be resolved

    public init(family: Int32, host: String, port: UInt16) {
        self.family = family
        self.host = host
        self.port = port
    }

    public var isLoopback: Bool {
        if family == AF_INET {
            var addr = in_addr()
            guard inet_pton(AF_INET, host, &addr) == 1 else { return false }
            return UInt32(bigEndian: addr.s_addr) >> 24 == 127
        }
        var addr = in6_addr()
        guard inet_pton(AF_INET6, host, &addr) == 1 else { return false }
        var loopback = in6_addr()
        _ = inet_pton(AF_INET6, "::1", &loopback)
        return withUnsafeBytes(of: addr) { a in
            withUnsafeBytes(of: loopback) { b in a.elementsEqual(b) }
        }
    }
}

/// The inet_protocols setting.
public struct InetProtocols: Equatable, Sendable {
    public var ipv4: Bool
    public var ipv6: Bool

    public var isEmpty: Bool { !ipv4 && !ipv6 }

    /// Parses "all", "ipv4", "ipv6" (comma/blank separated, case-insensitive).
    /// IPv6 is dropped when the kernel cannot create IPv6 sockets, like stock.
    public static func parse(_ value: String) throws -> InetProtocols {
        var result = InetProtocols(ipv4: false, ipv6: false)
        for token in BraceTokenizer.tokens(value, separators: listSeparators) {
            switch token.lowercasedASCII {
            case "all": result.ipv4 = true; result.ipv6 = true
            case "ipv4": result.ipv4 = true
            case "ipv6": result.ipv6 = true
            default:
                throw ConfigError("unknown inet_protocols value \"\(token)\" in \"\(value)\"")
            }
        }
        if result.ipv6 && !kernelSupports(AF_INET6) { result.ipv6 = false }
        return result
    }

    var families: [Int32] {
        (ipv4 ? [AF_INET] : []) + (ipv6 ? [AF_INET6] : [])
    }

    func allows(_ family: Int32) -> Bool {
        (family == AF_INET && ipv4) || (family == AF_INET6 && ipv6)
    }

    private static func kernelSupports(_ family: Int32) -> Bool {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}

/// The known_tcp_ports table ("name=name=...=port" items).
public struct KnownTcpPorts: Sendable {
    private var ports: [String: String] = [:]

    public init(_ value: String) {
        for item in BraceTokenizer.tokens(value, separators: listSeparators) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false).map { String($0).trimmingSpace }
            guard parts.count >= 2, let port = parts.last, port.isAllDigits else { continue }
            for name in parts.dropLast() where !name.isEmpty && !name.isAllDigits {
                ports[name] = port
            }
        }
    }

    /// The numeric port for a numeric or symbolic service, nil if unknown.
    public func resolve(_ service: String) -> UInt16? {
        if service.isAllDigits { return UInt16(service) }
        if let mapped = ports[service] { return UInt16(mapped) }
        guard let entry = getservbyname(service, "tcp") else { return nil }
        return UInt16(bigEndian: UInt16(truncatingIfNeeded: entry.pointee.s_port))
    }
}

enum InetResolver {
    /// Wildcard listen addresses (getaddrinfo passive), IPv4 first.
    static func wildcard(_ protocols: InetProtocols, port: UInt16) -> [ResolvedAddress] {
        protocols.families.map {
            ResolvedAddress(family: $0, host: $0 == AF_INET ? "0.0.0.0" : "::", port: port)
        }
    }

    /// All addresses of `host` (name or numeric, optionally "[...]"), filtered
    /// by protocol, de-duplicated, in resolver order.
    static func addresses(ofHost host: String, protocols: InetProtocols, port: UInt16) -> [ResolvedAddress] {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]"), name.utf8.count >= 2 {
            name = String(name.dropFirst().dropLast())
        }
        var result: [ResolvedAddress] = []
        for (family, numeric) in lookup(name, protocols: protocols, numericOnly: false)
        where !result.contains(where: { $0.family == family && $0.host == numeric }) {
            result.append(ResolvedAddress(family: family, host: numeric, port: port))
        }
        return result
    }

    /// Canonical numeric form of `host` if it is a numeric address of an
    /// enabled family, else nil.
    static func numericForm(of host: String, protocols: InetProtocols) -> String? {
        lookup(host, protocols: protocols, numericOnly: true).first?.1
    }

    /// Loopback interface addresses (inet_interfaces = loopback-only), IPv4 first.
    static func loopbackAddresses(_ protocols: InetProtocols, port: UInt16) -> [ResolvedAddress] {
        var found: [ResolvedAddress] = []
        var head: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&head) == 0 {
            var cursor = head
            while let entry = cursor {
                if let sa = entry.pointee.ifa_addr, protocols.allows(Int32(sa.pointee.sa_family)),
                   let text = numericHost(sa) {
                    let address = ResolvedAddress(family: Int32(sa.pointee.sa_family), host: text, port: port)
                    if address.isLoopback && !found.contains(address) { found.append(address) }
                }
                cursor = entry.pointee.ifa_next
            }
            freeifaddrs(head)
        }
        if found.isEmpty {
            // No interface list available: assume the standard loopback addresses.
            found = protocols.families.map {
                ResolvedAddress(family: $0, host: $0 == AF_INET ? "127.0.0.1" : "::1", port: port)
            }
        }
        return found.filter { $0.family == AF_INET } + found.filter { $0.family == AF_INET6 }
    }

    private static func lookup(_ host: String, protocols: InetProtocols, numericOnly: Bool) -> [(Int32, String)] {
        guard !protocols.isEmpty else { return [] }
        var hints = addrinfo()
        hints.ai_family = protocols.ipv4 && protocols.ipv6 ? AF_UNSPEC : (protocols.ipv4 ? AF_INET : AF_INET6)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        if numericOnly { hints.ai_flags = AI_NUMERICHOST }
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var result: [(Int32, String)] = []
        var cursor = list
        while let info = cursor {
            if let sa = info.pointee.ai_addr, protocols.allows(info.pointee.ai_family),
               let text = numericHost(sa) {
                result.append((info.pointee.ai_family, text))
            }
            cursor = info.pointee.ai_next
        }
        return result
    }

    private static func numericHost(_ sa: UnsafeMutablePointer<sockaddr>) -> String? {
        let family = Int32(sa.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(sa, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else {
            return nil
        }
        return String(bytes: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) })
    }
}
