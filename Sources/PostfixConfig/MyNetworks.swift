// MyNetworks: the computed default of mynetworks, from this machine's
// interfaces, as Postfix computes it.
// Guarantees (observed on stock 3.7.11, see postconf(5) mynetworks_style):
// - the addresses are those Postfix listens on: inet_interfaces "all" is
//   every address of every interface that is up and has a netmask (not the
//   wildcard address), IPv4 ones first, each family in interface order;
//   "loopback-only" keeps the loopback ones (127/8, ::1); otherwise each
//   listed host or address, resolved (duplicates dropped), must be an address
//   of a local interface, whose netmask it takes;
// - only families inet_protocols enables count; with none, the value is "";
// - mynetworks_style names exactly one of host, subnet, class (case-sensitive):
//   host gives each address as /32 or /128; subnet its network with the
//   interface's prefix length; class (IPv4) its natural class A/B/C/D
//   network, for IPv6 the same as subnet;
// - networks are written "a.b.c.d/len" and "[v6]/len" (host bits cleared,
//   no zone), one space apart, each once, in address order;
// - what stock refuses is a ConfigError with stock's words: an unknown or
//   ambiguous style, an unknown protocol, a host that does not resolve, an
//   address no local interface has, no usable interface at all.

#if canImport(Glibc)
import Glibc
#endif

public enum MyNetworks {
    public enum Style: String { case host, subnet, `class` }

    /// An interface address and its netmask, in network byte order.
    struct InterfaceAddress: Equatable {
        let family: Int32
        let address: [UInt8]
        let mask: [UInt8]
    }

    /// The mynetworks default for these (expanded) settings.
    public static func compute(style: String, interfaces: String, protocols: String) throws -> String {
        let enabled = try InetProtocols.parse(protocols)
        if enabled.isEmpty { return "" }
        let mask = try parseStyle(style)
        var seen: Set<String> = []
        return try ownAddresses(interfaces, enabled).map { try network($0, mask) }
            .filter { seen.insert($0).inserted }.joined(separator: " ")
    }

    static func parseStyle(_ value: String) throws -> Style {
        var styles: Set<Style> = []
        for word in value.split(whereSeparator: { " \t\r\n,".contains($0) }) {
            guard let style = Style(rawValue: String(word)) else {
                throw ConfigError("unknown mynetworks mask style value \"\(word)\" in \"\(value)\"")
            }
            styles.insert(style)
        }
        guard styles.count == 1, let style = styles.first else {
            throw ConfigError("bad mynetworks_style value: \(value); specify exactly one value")
        }
        return style
    }

    // MARK: addresses

    /// The addresses inet_interfaces selects, with their netmasks.
    static func ownAddresses(_ interfaces: String, _ protocols: InetProtocols) throws -> [InterfaceAddress] {
        let local = localAddresses(protocols)
        switch interfaces.trimmingSpace {
        case "all":
            guard !local.isEmpty else { throw ConfigError("could not find any active network interfaces") }
            return local
        case "loopback-only":
            guard !local.isEmpty else { throw ConfigError("could not find any active network interfaces") }
            return local.filter(isLoopback)
        default:
            var wanted: [InterfaceAddress] = []
            for host in interfaces.split(whereSeparator: { " \t,".contains($0) }).map(String.init) {
                let found = InetResolver.addresses(ofHost: host, protocols: protocols, port: 0)
                guard !found.isEmpty else { throw ConfigError("config variable inet_interfaces: host not found: \(host)") }
                for address in found {
                    let bytes = numericBytes(address)
                    if !wanted.contains(where: { $0.family == address.family && $0.address == bytes }) {
                        wanted.append(InterfaceAddress(family: address.family, address: bytes, mask: []))
                    }
                }
            }
            guard !local.isEmpty else { throw ConfigError("could not find any active network interfaces") }
            return try wanted.map { address in
                guard let own = local.first(where: { $0.family == address.family && $0.address == address.address }) else {
                    throw ConfigError("parameter inet_interfaces: no local interface found for \(text(address))")
                }
                return own
            }
        }
    }

    /// Addresses of interfaces that are up, per family (IPv4 first), in interface order.
    static func localAddresses(_ protocols: InetProtocols) -> [InterfaceAddress] {
        var found: [InterfaceAddress] = []
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        for family in protocols.families {
            var cursor = head
            while let entry = cursor {
                cursor = entry.pointee.ifa_next
                guard entry.pointee.ifa_flags & UInt32(IFF_UP) != 0,
                      let sa = entry.pointee.ifa_addr, Int32(sa.pointee.sa_family) == family,
                      let netmask = entry.pointee.ifa_netmask else { continue }
                let address = addressBytes(sa, family), mask = addressBytes(netmask, family)
                if address.allSatisfy({ $0 == 0 }) { continue }
                found.append(InterfaceAddress(family: family, address: address, mask: mask))
            }
        }
        return found
    }

    static func addressBytes(_ sa: UnsafeMutablePointer<sockaddr>, _ family: Int32) -> [UInt8] {
        if family == AF_INET {
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                withUnsafeBytes(of: p.pointee.sin_addr) { Array($0) }
            }
        }
        return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
            withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
        }
    }

    static func numericBytes(_ address: ResolvedAddress) -> [UInt8] {
        if address.family == AF_INET {
            var a = in_addr()
            _ = inet_pton(AF_INET, address.host, &a)
            return withUnsafeBytes(of: a) { Array($0) }
        }
        var a = in6_addr()
        _ = inet_pton(AF_INET6, address.host.split(separator: "%").first.map(String.init) ?? address.host, &a)
        return withUnsafeBytes(of: a) { Array($0) }
    }

    static func isLoopback(_ a: InterfaceAddress) -> Bool {
        a.family == AF_INET ? a.address[0] == 127 : a.address == Array(repeating: 0, count: 15) + [1]
    }

    // MARK: networks

    /// "net/len" (IPv4) or "[net]/len" (IPv6) for one address.
    static func network(_ a: InterfaceAddress, _ style: Style) throws -> String {
        let bits = a.address.count * 8
        let length: Int
        switch style {
        case .host: length = bits
        case .subnet: length = prefixLength(a.mask)
        case .class: length = a.family == AF_INET ? classPrefix(a.address[0]) : prefixLength(a.mask)
        }
        if style == .class && a.family == AF_INET && a.address[0] >= 240 {
            throw ConfigError("mynetworks_core: unknown address class: \(text(a))")
        }
        let network = InterfaceAddress(family: a.family, address: cleared(a.address, keeping: length), mask: a.mask)
        return a.family == AF_INET ? "\(text(network))/\(length)" : "[\(text(network))]/\(length)"
    }

    /// Leading mask bits up to the last set one (contiguous masks: the prefix length).
    static func prefixLength(_ mask: [UInt8]) -> Int {
        guard let last = mask.lastIndex(where: { $0 != 0 }) else { return 0 }
        return last * 8 + 8 - mask[last].trailingZeroBitCount
    }

    /// The natural (classful) network length of an IPv4 address.
    static func classPrefix(_ first: UInt8) -> Int {
        switch first {
        case 0..<128: return 8
        case 128..<192: return 16
        case 192..<224: return 24
        default: return 4       // class D; class E is refused by network()
        }
    }

    static func cleared(_ bytes: [UInt8], keeping length: Int) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let keep = max(0, min(8, length - i * 8))
            return keep == 8 ? b : b & ~(UInt8(0xFF) >> keep)
        }
    }

    static func text(_ a: InterfaceAddress) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        a.address.withUnsafeBytes { _ = inet_ntop(a.family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(bytes: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) })
    }
}
