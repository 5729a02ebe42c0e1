// HostPort: splits an inet service field (master.cf field 1) into host and
// port the way Postfix's host_port() does with an empty default host.
// Guarantees: "port", ":port", "host:port" (split at the rightmost ":"),
// "[host]:port" and "[IPv6:addr]:port" are accepted; every rejection carries
// the stock reason text; an empty `host` means "no host given".

struct HostPort: Equatable, Sendable {
    let host: String
    let port: String

    enum Problem: Error, Equatable {
        case missingBracket, garbageAfterBracket, malformedIPv6
        case missingService, invalidHost, garbageAfterNumber

        var text: String {
            switch self {
            case .missingBracket: return "missing \"]\""
            case .garbageAfterBracket: return "garbage after \"]\""
            case .malformedIPv6: return "malformed IPv6 address"
            case .missingService: return "missing service information"
            case .invalidHost: return "valid hostname or network address required"
            case .garbageAfterNumber: return "garbage after numerical service"
            }
        }
    }

    static func parse(_ field: String) -> Result<HostPort, Problem> {
        let split: (host: String?, port: String?)
        if field.hasPrefix("[") {
            switch splitBracketed(Array(field.utf8).dropFirst()) {
            case .success(let parts): split = parts
            case .failure(let problem): return .failure(problem)
            }
        } else {
            split = splitPlain(field)
        }
        guard let port = split.port else { return .failure(.missingService) }
        if let host = split.host, !HostnameRules.isValidHostname(host), !HostnameRules.isValidAddress(host) {
            return .failure(.invalidHost)
        }
        if let first = port.utf8.first, isDigitByte(first), !port.isAllDigits {
            return .failure(.garbageAfterNumber)
        }
        return .success(HostPort(host: split.host ?? "", port: port))
    }

    /// "[host]", "[host]:", "[host]:port" (the "[" already consumed).
    /// A host written in the field is returned non-nil, even when empty,
    /// so that "[]" is validated (and rejected) like stock.
    private static func splitBracketed(_ rest: ArraySlice<UInt8>) -> Result<(host: String?, port: String?), Problem> {
        var body = rest
        let ipv6 = hasIPv6Prefix(body)
        if ipv6 { body = body.dropFirst(5) }
        guard let close = body.firstIndex(of: UInt8(ascii: "]")) else { return .failure(.missingBracket) }
        let host = String(bytes: body[body.startIndex..<close])
        var after = body[(close + 1)...]
        if let c = after.first {
            guard c == UInt8(ascii: ":") else { return .failure(.garbageAfterBracket) }
            after = after.dropFirst()
        }
        if ipv6 && !HostnameRules.isValidIPv6(host) { return .failure(.malformedIPv6) }
        return .success((host, after.isEmpty ? nil : String(bytes: after)))
    }

    /// "host:port", ":port", "host:", "port".
    private static func splitPlain(_ field: String) -> (host: String?, port: String?) {
        let bytes = Array(field.utf8)
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else {
            return (nil, bytes.isEmpty ? nil : field)
        }
        let host = bytes[..<colon], port = bytes[(colon + 1)...]
        return (host.isEmpty ? nil : String(bytes: host), port.isEmpty ? nil : String(bytes: port))
    }

    private static func hasIPv6Prefix(_ bytes: ArraySlice<UInt8>) -> Bool {
        let prefix = Array("ipv6:".utf8)
        guard bytes.count >= prefix.count else { return false }
        return zip(bytes.prefix(prefix.count), prefix).allSatisfy { lowerASCII($0) == $1 }
    }
}
