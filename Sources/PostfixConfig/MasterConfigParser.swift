// MasterConfigParser: master.cf text -> validated MasterEntry list.
// Guarantees: fields are checked in the stock order, so the first problem
// reported is the one stock reports, as "<path>: line N: <stock text>";
// disabled services are skipped right after fields 1-2, before anything
// else is validated; a later entry with the same key replaces an earlier
// one in place (stock duplicate warning); no "$name" expansion is done.

public struct MasterConfig: Sendable {
    public let path: String
    public var entries: [MasterEntry]    // duplicates resolved: position of the first, settings of the last
    public let warnings: [String]        // duplicate warnings, whitespace-continuation warnings
    public let infos: [String]           // e.g. "<path>: line N: using backwards-compatible default setting chroot=y"

    public static func load(configDirectory: String, options: MasterParseOptions) throws -> MasterConfig {
        let path = joinPath(configDirectory, "master.cf")
        return try parse(text: try readConfigFile(path), path: path, options: options)
    }

    public static func parse(text: String, path: String, options: MasterParseOptions) throws -> MasterConfig {
        var warnings: [String] = []
        let lines = LogicalLines.split(text, path: path) { warnings.append($0) }
        var parser = try MasterLineParser(path: path, options: options)
        var entries: [MasterEntry] = []
        var positionByKey: [String: Int] = [:]
        for line in lines {
            guard let entry = try parser.parse(line) else { continue }
            if let position = positionByKey[entry.key] {
                warnings.append("duplicate master.cf entry for service \"\(entry.name)\" (\(entry.canonicalName)) -- using the last entry")
                entries[position] = entry
            } else {
                positionByKey[entry.key] = entries.count
                entries.append(entry)
            }
        }
        return MasterConfig(path: path, entries: entries, warnings: warnings, infos: parser.infos)
    }
}

/// Parses one logical line at a time; collects the chroot info messages.
struct MasterLineParser {
    let path: String
    let options: MasterParseOptions
    let protocols: InetProtocols
    let ports: KnownTcpPorts
    private(set) var infos: [String] = []
    /// Listen addresses for inet services without a host, computed once.
    private var interfaceAddresses: [ResolvedAddress]?

    init(path: String, options: MasterParseOptions) throws {
        self.path = path
        self.options = options
        self.protocols = try InetProtocols.parse(options.inetProtocols)
        self.ports = KnownTcpPorts(options.knownTcpPorts)
    }

    /// The entry on `line`, or nil when the service is disabled.
    mutating func parse(_ line: LogicalLine) throws -> MasterEntry? {
        var reader = FieldReader(line.text)
        let context = "\(path): line \(line.number)"
        let fail = { (text: String) -> ConfigError in ConfigError("\(context): \(text)") }
        guard let name = reader.next() else { return nil }
        var written = [name]

        func field(_ label: String, default value: String?) throws -> String {
            guard let token = reader.next() else { throw fail("missing \"\(label)\" field") }
            written.append(token)
            guard token == "-" else { return token }
            guard let value else { throw fail("field \"\(label)\" has no default value") }
            if label == "chroot" {
                infos.append("\(context): using backwards-compatible default setting chroot=\(value)")
            }
            return value
        }
        func flag(_ label: String, default value: String) throws -> Bool {
            let token = try field(label, default: value)
            if token == "y" { return true }
            if token == "n" { return false }
            throw fail("field \"\(label)\": bad value: \"\(token)\"")
        }
        func number(_ label: String, default value: String) throws -> Int {
            let token = try field(label, default: value)
            guard let first = token.utf8.first, isDigitByte(first) else {
                throw fail("field \"\(label)\": bad value: \"\(token)\"")
            }
            return cAtoi(token)
        }

        let typeText = try field("transport type", default: nil)
        if options.disabled.isDisabled(name: name, type: typeText) { return nil }

        var inet: InetEndpoint?
        let type: ServiceType
        switch typeText {
        case "inet":
            type = .inet
            inet = try inetEndpoint(name, fail: fail)
        case "unix": type = .unix
        case "unix-dgram": type = .unixDgram
        case "fifo": type = .fifo
        case "pass": type = .pass
        default: throw fail("bad transport type: \(typeText)")
        }

        let isPrivate = try flag("private", default: "y")
        let canonical: String
        if let inet {
            if isPrivate { throw fail("inet service cannot be private") }
            canonical = inet.canonicalName
            if inet.addresses.isEmpty { throw fail("no valid IP address found: \(name)") }
        } else {
            canonical = (isPrivate ? "private/" : "public/") + name
        }

        let unprivileged = try flag("unprivileged", default: "y")
        let chroot = try flag("chroot", default: options.chrootDefaultsToYes ? "y" : "n")
        let wakeup = try number("wakeup_time", default: "0")
        let conditional = wakeup > 0 && written.last?.hasSuffix("?") == true
        let limit = try number("max_proc", default: String(options.defaultProcessLimit))
        let command = try field("command", default: nil)

        var arguments: [String] = []
        for token in reader.remainingArguments() {
            switch BraceGroup.strip(token) {
            case .success(let argument): arguments.append(argument)
            case .failure(let problem): throw fail(problem.text)
            }
        }

        return MasterEntry(name: name, type: type, isPrivate: isPrivate, unprivileged: unprivileged,
                           chroot: chroot, wakeupTime: wakeup, wakeupConditional: conditional,
                           processLimit: limit, command: command, arguments: arguments,
                           line: line.number, fields: written, canonicalName: canonical,
                           addresses: inet?.addresses ?? [], inetPort: inet?.port,
                           inetPortNumber: inet?.portNumber)
    }

    // MARK: inet endpoints

    private struct InetEndpoint {
        let port: String
        let portNumber: UInt16?
        let addresses: [ResolvedAddress]
        let canonicalName: String
    }

    private mutating func inetEndpoint(_ field: String, fail: (String) -> ConfigError) throws -> InetEndpoint {
        let split: HostPort
        switch HostPort.parse(field) {
        case .success(let value): split = value
        case .failure(let problem): throw fail("\(problem.text) in \"\(field)\"")
        }
        let portNumber = ports.resolve(split.port)
        let addresses: [ResolvedAddress]
        if split.host.isEmpty {
            addresses = try listenAddressesWithoutHost(port: portNumber ?? 0)
        } else {
            addresses = InetResolver.addresses(ofHost: split.host, protocols: protocols, port: portNumber ?? 0)
            if addresses.isEmpty { throw fail("bad hostname or network address: \(field)") }
        }
        return InetEndpoint(port: split.port, portNumber: portNumber, addresses: addresses,
                            canonicalName: canonicalName(field, split, portNumber))
    }

    /// "25", "[127.0.0.1]:25", "[host.name]:25"; the field itself when the
    /// port cannot be resolved (stock keeps the raw name then).
    private func canonicalName(_ field: String, _ split: HostPort, _ port: UInt16?) -> String {
        guard let port else { return field }
        if split.host.isEmpty { return String(port) }
        let host = InetResolver.numericForm(of: split.host, protocols: protocols) ?? split.host
        return "[\(host)]:\(port)"
    }

    /// Addresses from inet_interfaces: wildcard for "all", loopback
    /// interfaces for "loopback-only", else every listed host's addresses.
    private mutating func listenAddressesWithoutHost(port: UInt16) throws -> [ResolvedAddress] {
        if interfaceAddresses == nil {
            interfaceAddresses = try interfaceList()
        }
        return (interfaceAddresses ?? []).map { ResolvedAddress(family: $0.family, host: $0.host, port: port) }
    }

    private func interfaceList() throws -> [ResolvedAddress] {
        let setting = options.inetInterfaces
        if setting.trimmingSpace.equalsIgnoringCase("all") {
            return InetResolver.wildcard(protocols, port: 0)
        }
        if protocols.isEmpty { return [] }
        if setting.trimmingSpace == "loopback-only" {
            return InetResolver.loopbackAddresses(protocols, port: 0)
        }
        var result: [ResolvedAddress] = []
        for host in BraceTokenizer.tokens(setting, separators: [0x20, 0x09, 0x2C]) {
            let found = InetResolver.addresses(ofHost: host, protocols: protocols, port: 0)
            if found.isEmpty {
                throw ConfigError("config variable inet_interfaces: host not found: \(host)")
            }
            for address in found where !result.contains(address) { result.append(address) }
        }
        return result
    }
}

/// Splits master.cf fields 1-8 at blanks, then hands out the rest as
/// brace-aware argument tokens.
private struct FieldReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    mutating func next() -> String? {
        while index < bytes.count, fieldSeparators.contains(bytes[index]) { index += 1 }
        guard index < bytes.count else { return nil }
        let start = index
        while index < bytes.count, !fieldSeparators.contains(bytes[index]) { index += 1 }
        return String(bytes: bytes[start..<index])
    }

    mutating func remainingArguments() -> [String] {
        defer { index = bytes.count }
        return BraceTokenizer.tokens(String(bytes: bytes[index...]), separators: fieldSeparators)
    }
}
