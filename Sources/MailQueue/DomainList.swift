// DomainList: a main.cf domain list such as fast_flush_domains, matched the
// way Postfix's domain_list matches a site name: patterns separated by
// commas and white space, tried in order until one matches; "!pattern"
// inverts a pattern's answer; "/file/name" stands for the patterns in that
// file (lines starting with "#" skipped); a name matches itself, and its
// subdomains match a ".name" pattern, or a plain "name" pattern when the
// list's parameter is in parent_domain_matches_subdomains. Case is folded
// (ASCII) on both sides.
// A "type:table" pattern is looked up through proxymap(8) (ProxymapClient):
// the name itself, then, for a table with fixed keys, its parent domains
// ("example.com" for "a.example.com" in parent style, else ".example.com");
// any value found is a match.
// Guarantees: a list never traps on any input; what cannot be evaluated
// (a table proxymap refuses or cannot reach, no proxymap client, an
// unreadable /file) makes `match` return `.error` with the text stock
// would log, never a silent no-match; a "!" with no pattern after it is a
// thrown error (stock's fatal).
#if canImport(Glibc)
import Glibc
#endif

public struct DomainList: Sendable, Equatable {
    public enum Answer: Equatable, Sendable {
        case match, noMatch
        /// The list could not be evaluated: stock answers FLUSH_STAT_FAIL.
        case error(String)
    }

    public struct SettingError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    enum Pattern: Equatable, Sendable {
        case name([UInt8])
        /// A lookup table: the pattern as written, and the name proxymap knows it by.
        case table(pattern: String, name: String)
        /// Evaluating it is an error (a table this reader cannot open, or a file it could not read).
        case unusable(String)
    }

    struct Entry: Equatable, Sendable {
        var positive: Bool
        var pattern: Pattern
    }

    let parameter: String
    let entries: [Entry]
    let parentStyle: Bool

    /// `value`: the parameter's expanded value; `parentStyle`: whether
    /// `parameter` is listed in parent_domain_matches_subdomains.
    public init(parameter: String, value: String, parentStyle: Bool) throws(SettingError) {
        self.parameter = parameter
        self.parentStyle = parentStyle
        entries = try Self.parse(Array(value.utf8), parameter: parameter, positive: true, depth: 0)
    }

    /// Whether `parameter` is named in a parent_domain_matches_subdomains value.
    public static func isParentStyle(_ parameter: String, in setting: String) -> Bool {
        split(Array(setting.utf8)).contains { $0.elementsEqual(parameter.utf8) }
    }

    /// True when the list has no patterns (the service is "turned off").
    public var isEmpty: Bool { entries.isEmpty }

    /// `tables`: where `type:table` patterns are looked up (nil: they are errors).
    public func match(_ site: ByteString, tables: ProxymapClient? = nil) -> Answer {
        let name = Self.folded(site.bytes)
        for entry in entries {
            let found: Bool
            switch entry.pattern {
            case .unusable(let why):
                return .error("\(parameter): \(why)")
            case .name(let pattern):
                found = matches(name, pattern)
            case .table(let pattern, let table):
                guard let tables else {
                    return .error("\(parameter): \(pattern): table lookup problem (no proxymap client here)")
                }
                do {
                    found = try tableMatches(name, table, tables)
                } catch {
                    return .error("\(parameter): \(pattern): table lookup problem (\(error))")
                }
            }
            if found { return entry.positive ? .match : .noMatch }
        }
        return .noMatch
    }

    /// The name, then (fixed-key tables only) each parent domain, as match_hostname looks them up.
    private func tableMatches(_ name: [UInt8], _ table: String, _ tables: ProxymapClient) throws(ProxymapError) -> Bool {
        guard try tables.lookup(table, key: ByteString(name)) == nil else { return true }
        guard try tables.hasFixedKeys(table) else { return false }
        var dot = name.indices.dropFirst().first { name[$0] == UInt8(ascii: ".") }
        while let at = dot {
            let key = parentStyle ? Array(name[(at + 1)...]) : Array(name[at...])
            if key.isEmpty { break }
            if try tables.lookup(table, key: ByteString(key)) != nil { return true }
            // The next dot is searched from one past the key's first byte, as stock does.
            let from = parentStyle ? at + 2 : at + 1
            dot = from < name.count ? name.indices[from...].first { name[$0] == UInt8(ascii: ".") } : nil
        }
        return false
    }

    private func matches(_ name: [UInt8], _ pattern: [UInt8]) -> Bool {
        if name == pattern { return true }
        guard !pattern.isEmpty, name.count > pattern.count, name.suffix(pattern.count).elementsEqual(pattern) else {
            return false
        }
        if parentStyle { return name[name.count - pattern.count - 1] == UInt8(ascii: ".") }
        return pattern[0] == UInt8(ascii: ".")
    }

    // MARK: parsing

    private static let maximumFileDepth = 10

    private static func parse(_ value: [UInt8], parameter: String, positive: Bool, depth: Int) throws(SettingError) -> [Entry] {
        var out: [Entry] = []
        for token in split(value) {
            if token.first == UInt8(ascii: "#") { break }   // stock warns: comments at end of line are unsupported
            var item = token[...]
            var sign = positive
            while item.first == UInt8(ascii: "!") {
                sign.toggle()
                item = item.dropFirst()
            }
            guard !item.isEmpty else { throw SettingError(description: "\(parameter): no pattern after '!'") }
            let text = String(decoding: item, as: UTF8.self)
            if item.first == UInt8(ascii: "/") {
                out += try fileEntries(text, parameter: parameter, positive: sign, depth: depth)
            } else if item.first != UInt8(ascii: "["), item.contains(UInt8(ascii: ":")) {
                out.append(Entry(positive: sign, pattern: .table(pattern: text, name: ProxymapProtocol.tableName(text))))
            } else {
                out.append(Entry(positive: sign, pattern: .name(folded(Array(item)))))
            }
        }
        return out
    }

    private static func fileEntries(_ path: String, parameter: String, positive: Bool, depth: Int) throws(SettingError) -> [Entry] {
        guard depth < maximumFileDepth, let file = fopen(path, "r") else {
            return [Entry(positive: positive, pattern: .unusable("open file \(path): \(SystemError.text(errno))"))]
        }
        defer { fclose(file) }
        var out: [Entry] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) >= 0, let line {
            let bytes = Array(UnsafeRawBufferPointer(start: line, count: strlen(line)))
            if bytes.first == UInt8(ascii: "#") { continue }
            out += try parse(bytes, parameter: parameter, positive: positive, depth: depth + 1)
        }
        return out
    }

    static func split(_ value: [UInt8]) -> [[UInt8]] {
        let separators: Set<UInt8> = [0x2C, 0x20, 0x09, 0x0D, 0x0A]
        return value.split(whereSeparator: { separators.contains($0) }).map(Array.init)
    }

    public static func folded(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 + 0x20 : $0 }
    }
}
