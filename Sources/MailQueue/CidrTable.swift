// CidrTable: a Postfix cidr: table (cidr_table(5)), parsed from its
// logical lines and looked up as stock's dict_cidr and cidr_match do:
// - "pattern result": the first rule whose pattern matches the key gives
//   its result; a pattern is an IPv4 or IPv6 address (IPv6 when it holds
//   a ":"), optionally "/bits", optionally in brackets ("[addr]/bits",
//   "[addr/bits]"); "!" before it (white space allowed) inverts it;
// - "if pattern" ... "endif" (nested, any case) skips the rules in between
//   when the key is not in the pattern's network;
// - a key is an address in inet_pton's form (IPv6 when it holds a ":");
//   any other key matches nothing, and a rule never matches a key of the
//   other address family, negated or not.
// Addresses are read by Glibc's inet_pton, as stock reads them; a mask
// length is read as stock reads it (atoi, kept in one byte). A bad rule is
// skipped with stock's warning.
// Guarantees: never traps; warnings are stock's texts in stock's order.
#if canImport(Glibc)
import Glibc
#endif
import PostfixText

public struct CidrTable: Sendable, Equatable {
    /// The table's name as written after "cidr:" (a path, or "{...}" rules).
    public let name: String
    let rules: [Rule]

    struct Network: Equatable, Sendable {
        let family: Int32
        /// Network bytes and mask bytes, 4 (IPv4) or 16 (IPv6) each.
        let network: [UInt8]
        let mask: [UInt8]
        let positive: Bool

        func contains(_ address: [UInt8], family: Int32) -> Bool {
            guard family == self.family else { return false }
            let inside = zip(address, zip(mask, network)).allSatisfy { a, mn in a & mn.0 == mn.1 }
            return inside == positive
        }
    }

    enum Rule: Equatable, Sendable {
        case match(Network, result: [UInt8])
        /// The index of the matching "endif", nil when there is none.
        case ifBlock(Network, endif: Int?)
        case endif
    }

    /// The table `name` made of `items` (the logical lines of `source`);
    /// rules stock skips are left out, with their warnings appended to `warnings`.
    init(name: String, items: [LogicalLineReader.Item], source: String, warnings: inout [String]) {
        self.name = name
        var rules: [Rule] = []
        var open: [(index: Int, line: Int)] = []
        for item in items {
            guard case .line(let number, let text) = item else {
                if case .orphan(let text) = item { warnings.append(LogicalLineReader.orphanWarning(source: source, text: text)) }
                continue
            }
            switch Self.rule(text, nested: !open.isEmpty) {
            case .failure(let why):
                warnings.append("cidr map \(name), line \(number): \(why.description): skipping this rule")
            case .success(let rule):
                if case .ifBlock = rule {
                    open.append((rules.count, number))
                } else if case .endif = rule, let opened = open.popLast(),
                          case .ifBlock(let network, _) = rules[opened.index] {
                    rules[opened.index] = .ifBlock(network, endif: rules.count)
                }
                rules.append(rule)
            }
        }
        for opened in open.reversed() {
            warnings.append("cidr map \(name), line \(opened.line): IF has no matching ENDIF")
        }
        self.rules = rules
    }

    /// The result for `key`, nil when no rule matches (or the key is no address).
    public func lookup(_ key: [UInt8]) -> [UInt8]? {
        guard let (family, address) = Self.address(CText.cString(key)) else { return nil }
        var index = 0
        while index < rules.count {
            defer { index += 1 }
            switch rules[index] {
            case .match(let network, let result):
                if network.contains(address, family: family) { return result }
            case .ifBlock(let network, let endif):
                if network.contains(address, family: family) { continue }
                guard let endif else { return nil }
                index = endif
            case .endif:
                continue
            }
        }
        return nil
    }

    /// The family and bytes of an address, as inet_pton reads it (IPv6 when it holds a ":").
    static func address(_ text: ArraySlice<UInt8>) -> (Int32, [UInt8])? {
        let family = text.contains(UInt8(ascii: ":")) ? AF_INET6 : AF_INET
        var bytes = [UInt8](repeating: 0, count: 16)
        let c = Array(text) + [0]
        let status = c.withUnsafeBufferPointer { text in
            text.withMemoryRebound(to: CChar.self) { chars in
                bytes.withUnsafeMutableBytes { inet_pton(family, chars.baseAddress, $0.baseAddress) }
            }
        }
        guard status == 1 else { return nil }
        return (family, Array(bytes.prefix(family == AF_INET6 ? 16 : 4)))
    }
}

// MARK: reading rules

extension CidrTable {
    struct RuleError: Error, CustomStringConvertible {
        let description: String
    }

    /// One logical line as a rule, or the reason stock skips it.
    static func rule(_ line: [UInt8], nested: Bool) -> Result<Rule, RuleError> {
        let text = CText.cString(line)[...]
        if CText.startsWithWord(text, "if") {
            let (positive, rest) = negation(text.dropFirst(2))
            guard !rest.isEmpty else { return .failure(RuleError(description: "no address pattern")) }
            return network(CText.trimmed(rest), positive: positive).map { .ifBlock($0, endif: nil) }
        }
        if CText.startsWithWord(text, "endif") {
            guard CText.skippingSpace(text.dropFirst(5)).isEmpty else {
                return .failure(RuleError(description: "garbage after ENDIF"))
            }
            guard nested else { return .failure(RuleError(description: "ENDIF without IF")) }
            return .success(.endif)
        }
        let (positive, rest) = negation(text)
        let pattern = rest.prefix { !CText.isSpace($0) }
        let result = CText.trimmed(CText.skippingSpace(rest[pattern.endIndex...]))
        guard !pattern.isEmpty else { return .failure(RuleError(description: "no address pattern")) }
        return network(pattern, positive: positive).flatMap { network in
            result.isEmpty ? .failure(RuleError(description: "no lookup result")) : .success(.match(network, result: Array(result)))
        }
    }

    /// Leading "!" (each one inverting) and white space skipped.
    private static func negation(_ text: ArraySlice<UInt8>) -> (Bool, ArraySlice<UInt8>) {
        var positive = true
        var rest = text
        while let b = rest.first, b == UInt8(ascii: "!") || CText.isSpace(b) {
            if b == UInt8(ascii: "!") { positive.toggle() }
            rest = rest.dropFirst()
        }
        return (positive, rest)
    }

    /// A pattern as stock's cidr_match_parse reads it.
    static func network(_ pattern: ArraySlice<UInt8>, positive: Bool) -> Result<Network, RuleError> {
        var address = pattern
        var maskText: ArraySlice<UInt8>?
        if pattern.first == UInt8(ascii: "[") {
            let inside = pattern.dropFirst()
            guard let close = inside.firstIndex(of: UInt8(ascii: "]")) else {
                return .failure(RuleError(description: "missing ']' character after \"[\(CText.string(inside))\""))
            }
            address = inside[..<close]
            let after = inside[(close + 1)...]
            if after.first == UInt8(ascii: "/") {
                maskText = after.dropFirst()
            } else if !after.isEmpty {
                return .failure(RuleError(description: "garbage after \"[\(CText.string(address))]\""))
            }
        }
        if maskText == nil, let slash = address.firstIndex(of: UInt8(ascii: "/")) {
            maskText = address[(slash + 1)...]
            address = address[..<slash]
        }
        let family = address.contains(UInt8(ascii: ":")) ? AF_INET6 : AF_INET
        let width = family == AF_INET6 ? 16 : 4
        guard let maskText else {
            guard let (_, bytes) = Self.address(address) else {
                return .failure(RuleError(description: "bad address pattern: \"\(CText.string(address))\""))
            }
            return .success(Network(family: family, network: bytes, mask: [UInt8](repeating: 0xFF, count: width),
                                    positive: positive))
        }
        let shown = "\"\(CText.string(address))/\(CText.string(maskText))\""
        guard !maskText.isEmpty, maskText.allSatisfy(CText.isDigit) else {
            return .failure(RuleError(description: "bad mask value in \(shown)"))
        }
        // Stock keeps the length in an unsigned char: 280 is 24.
        let bits = Int(UInt8(truncatingIfNeeded: CText.atoi(maskText)))
        guard bits <= width * 8 else { return .failure(RuleError(description: "bad mask length in \(shown)")) }
        guard let (_, bytes) = Self.address(address), bytes.count == width else {
            return .failure(RuleError(description: "bad network value in \(shown)"))
        }
        let mask = maskBytes(bits: bits, width: width)
        let network = zip(bytes, mask).map { $0 & $1 }
        guard network == bytes else {
            return .failure(RuleError(description: "non-null host address bits in \(shown), "
                                          + "perhaps you should use \"\(text(network, family: family))/\(bits)\" instead"))
        }
        return .success(Network(family: family, network: bytes, mask: mask, positive: positive))
    }

    private static func maskBytes(bits: Int, width: Int) -> [UInt8] {
        (0..<width).map { i in
            let left = bits - i * 8
            return left >= 8 ? 0xFF : left <= 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - left))
        }
    }

    /// An address as inet_ntop writes it.
    private static func text(_ bytes: [UInt8], family: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let written = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard written != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
