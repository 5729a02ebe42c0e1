// DomainList: a main.cf domain list such as fast_flush_domains, matched the
// way Postfix's domain_list matches a site name: patterns separated by
// commas and white space, tried in order until one matches; "!pattern"
// inverts a pattern's answer; "/file/name" stands for the patterns in that
// file (lines starting with "#" skipped); a name matches itself, and its
// subdomains match a ".name" pattern, or a plain "name" pattern when the
// list's parameter is in parent_domain_matches_subdomains. Case is folded
// on both sides (`folded`: stock's casefold, Unicode full case folding).
// Patterns are split as stock's mystrtokq splits them: a separator inside
// "{...}" (braces balanced) does not end a pattern, so a table such as
// "inline:{a.example=ok, b.example=ok}" is one pattern; the braces are kept
// (stock 3.7 match lists do not strip them), so "{a.example}" names nothing.
// A "type:table" pattern is looked up: the name itself, then, for a table
// with fixed keys, its parent domains ("example.com" for "a.example.com" in
// parent style, else ".example.com"); any value found is a match. Tables
// not written "proxy:" that a process opens itself (LocalTable: regexp,
// cidr, static, fail, fixed-key files read with stock `postmap -s`, and
// unionmap/pipemap of those) are opened while the process is still root
// outside its jail (`loadingLocalTables`), as stock opens them before the
// chroot, with what stock logs then kept in `tableNotices`; every other
// table is looked up through proxymap(8) (ProxymapClient).
// Guarantees: a list never traps on any input; what cannot be evaluated
// (a table proxymap refuses or cannot reach, no proxymap client, a local
// table that could not be opened or fails a lookup, an unreadable /file)
// makes `match` return `.error` with the text stock would log, never a
// silent no-match; a "!" with no pattern after it, and a table pattern
// with an empty type or name, are thrown errors (stock's fatal ones).
#if canImport(Glibc)
import Glibc
#endif
import ChildProcesses
import PostfixText

public struct DomainList: Sendable, Equatable {
    public enum Answer: Equatable, Sendable {
        case match, noMatch
        /// The list could not be evaluated: stock answers FLUSH_STAT_FAIL.
        /// `line` is the list's warning ("fast_flush_domains: type:name:
        /// table lookup problem"); `detail`, what the table itself said
        /// first, as stock logs it on a line of its own before that one.
        case error(String, detail: String? = nil)
    }

    public struct SettingError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    enum Pattern: Equatable, Sendable {
        case name([UInt8])
        /// A lookup table: the pattern as written, and the name proxymap knows it by.
        case table(pattern: String, name: String)
        /// A table opened before the jail (LocalTable).
        case local(pattern: String, table: LocalTable)
        /// Evaluating it is an error (a "/file" that could not be read).
        case unusable(String)
    }

    struct Entry: Equatable, Sendable {
        var positive: Bool
        var pattern: Pattern
    }

    let parameter: String
    var entries: [Entry]
    let parentStyle: Bool
    /// smtputf8_enable: how names are case-folded, and whether local tables
    /// check UTF-8 (`folded`, LocalTable.lookup).
    let utf8: Bool
    /// What stock logs while `loadingLocalTables` opens the tables, in order.
    public private(set) var tableNotices: [TableNotice] = []

    /// `value`: the parameter's expanded value; `parentStyle`: whether
    /// `parameter` is listed in parent_domain_matches_subdomains; `utf8`:
    /// smtputf8_enable.
    public init(parameter: String, value: String, parentStyle: Bool, utf8: Bool = true) throws(SettingError) {
        self.parameter = parameter
        self.parentStyle = parentStyle
        self.utf8 = utf8
        entries = try Self.parse(Array(value.utf8), parameter: parameter, positive: true, depth: 0, utf8: utf8)
    }

    /// Whether `parameter` is named in a parent_domain_matches_subdomains value.
    public static func isParentStyle(_ parameter: String, in setting: String) -> Bool {
        split(Array(setting.utf8)).contains { $0.elementsEqual(parameter.utf8) }
    }

    /// True when the list has no patterns (the service is "turned off").
    public var isEmpty: Bool { entries.isEmpty }

    /// `tables`: where `type:table` patterns are looked up (nil: they are
    /// errors); `warn`: what a table logs about a lookup without failing it
    /// (a key stock's UTF-8 layer skips), as it happens.
    public func match(_ site: ByteString, tables: ProxymapClient? = nil, warn: (String) -> Void = { _ in }) -> Answer {
        let name = Self.folded(site.bytes, utf8: utf8)
        for entry in entries {
            let found: Bool
            switch entry.pattern {
            case .unusable(let why):
                return .error("\(parameter): \(why)")
            case .name(let pattern):
                found = matches(name, pattern)
            case .local(let pattern, let table):
                switch localMatches(name, table, warn: warn) {
                case .success(let answer): found = answer
                case .failure(let why): return .error("\(parameter): \(pattern): table lookup problem", detail: why.detail)
                }
            case .table(let pattern, let table):
                guard let tables else {
                    return .error("\(parameter): \(pattern): table lookup problem", detail: "no proxymap client here")
                }
                do {
                    found = try tableMatches(name, table, tables)
                } catch {
                    return .error("\(parameter): \(pattern): table lookup problem", detail: "\(error)")
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
        for key in lookupKeys(name).dropFirst() where try tables.lookup(table, key: ByteString(key)) != nil {
            return true
        }
        return false
    }

    struct LookupProblem: Error {
        /// What stock logs about it, if anything.
        let detail: String?
    }

    /// The name, then (fixed-key tables only) each parent domain, until one is found or fails.
    private func localMatches(_ name: [UInt8], _ table: LocalTable, warn: (String) -> Void) -> Result<Bool, LookupProblem> {
        for key in table.hasFixedKeys ? lookupKeys(name) : [name] {
            switch table.lookup(key, utf8: utf8, warn: warn) {
            case .found: return .success(true)
            case .notFound: continue
            case .failed(let detail): return .failure(LookupProblem(detail: detail))
            }
        }
        return .success(false)
    }

    /// The keys match_hostname tries in a fixed-key table, in order: the
    /// name, then each parent domain ("example.com" in parent style, else
    /// ".example.com").
    private func lookupKeys(_ name: [UInt8]) -> [[UInt8]] {
        var keys = [name]
        var dot = name.indices.dropFirst().first { name[$0] == UInt8(ascii: ".") }
        while let at = dot {
            let key = parentStyle ? Array(name[(at + 1)...]) : Array(name[at...])
            if key.isEmpty { break }
            keys.append(key)
            // The next dot is searched from one past the key's first byte, as stock does.
            let from = parentStyle ? at + 2 : at + 1
            dot = from < name.count ? name.indices[from...].first { name[$0] == UInt8(ascii: ".") } : nil
        }
        return keys
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

    private static func parse(_ value: [UInt8], parameter: String, positive: Bool, depth: Int,
                              utf8: Bool) throws(SettingError) -> [Entry] {
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
                out += try fileEntries(text, parameter: parameter, positive: sign, depth: depth, utf8: utf8)
            } else if item.first != UInt8(ascii: "["), item.contains(UInt8(ascii: ":")) {
                if let problem = typeNameProblem(text) { throw SettingError(description: problem) }
                out.append(Entry(positive: sign, pattern: .table(pattern: text, name: ProxymapProtocol.tableName(text))))
            } else {
                out.append(Entry(positive: sign, pattern: .name(folded(Array(item), utf8: utf8))))
            }
        }
        return out
    }

    /// Stock's fatal text for a "type:name" pattern with an empty type or name, else nil.
    static func typeNameProblem(_ spec: String) -> String? {
        guard let colon = spec.firstIndex(of: ":") else { return nil }
        guard colon == spec.startIndex || spec.index(after: colon) == spec.endIndex else { return nil }
        return "open dictionary: expecting \"type:name\" form instead of \"\(spec)\""
    }

    private static func fileEntries(_ path: String, parameter: String, positive: Bool, depth: Int,
                                    utf8: Bool) throws(SettingError) -> [Entry] {
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
            out += try parse(bytes, parameter: parameter, positive: positive, depth: depth + 1, utf8: utf8)
        }
        return out
    }

    /// Patterns separated by commas and white space; a separator inside
    /// balanced "{...}" belongs to the pattern (mystrtokq with braces).
    static func split(_ value: [UInt8]) -> [[UInt8]] {
        let separators: Set<UInt8> = [0x2C, 0x20, 0x09, 0x0D, 0x0A]
        var out: [[UInt8]] = []
        var token: [UInt8] = []
        var level = 0
        for byte in value {
            if byte == UInt8(ascii: "{") {
                level += 1
            } else if level > 0 && byte == UInt8(ascii: "}") {
                level -= 1
            } else if level == 0 && separators.contains(byte) {
                if !token.isEmpty { out.append(token) }
                token = []
                continue
            }
            token.append(byte)
        }
        if !token.isEmpty { out.append(token) }
        return out
    }

    /// Case folded as stock folds names: with `utf8` (smtputf8_enable, its
    /// default) ASCII names byte by byte, others with Unicode full case
    /// folding ("Straße" -> "strasse"), bytes that are not UTF-8 kept
    /// (CaseFolding); without it, only ASCII letters.
    public static func folded(_ bytes: [UInt8], utf8: Bool = true) -> [UInt8] {
        utf8 ? CaseFolding.folded(bytes) : CaseFolding.asciiFolded(bytes)
    }
}

// MARK: fast_flush_domains, and tables read before the jail

extension DomainList {
    /// fast_flush_domains as stock's flush(8) and qmgr(8) read it, its
    /// parent style from parent_domain_matches_subdomains; `setting(name,
    /// default)` is a main.cf value. A list stock refuses is thrown.
    public static func fastFlushDomains(setting: (String, String) -> String) throws(SettingError) -> DomainList {
        let parentStyle = isParentStyle("fast_flush_domains", in: setting("parent_domain_matches_subdomains", ""))
        let utf8 = try smtputf8Enabled(setting: setting)
        return try DomainList(parameter: "fast_flush_domains", value: setting("fast_flush_domains", ""),
                              parentStyle: parentStyle, utf8: utf8)
    }

    /// smtputf8_enable; when main.cf leaves it out, stock's default: "no"
    /// below compatibility_level 1, else "yes". Any value but a boolean
    /// (BooleanValue) is stock's fatal.
    public static func smtputf8Enabled(setting: (String, String) -> String) throws(SettingError) -> Bool {
        let text = setting("smtputf8_enable", "")
        if text.isEmpty {
            let level = setting("compatibility_level", "0")
            return Int(level.prefix { $0 != "." }).map { $0 >= 1 } ?? false
        }
        guard let enabled = BooleanValue.parse(text) else {
            throw SettingError(description: "bad boolean configuration: smtputf8_enable = \(text)")
        }
        return enabled
    }

    /// `loadingLocalTables` with stock's postmap from command_directory and
    /// config_directory, as `setting(name, default)` gives them.
    public func loadingLocalTables(setting: (String, String) -> String) -> DomainList {
        loadingLocalTables(postmap: setting("command_directory", "/usr/sbin") + "/postmap",
                           configDirectory: setting("config_directory", "/etc/postfix"))
    }

    /// The "type:name" of each table `loadingLocalTables` opens (or has opened), in list order.
    var localTablePatterns: [String] {
        entries.compactMap { entry in
            switch entry.pattern {
            case .table(let pattern, _) where LocalTable.isLocal(pattern): return pattern
            case .local(let pattern, _): return pattern
            default: return nil
            }
        }
    }

    /// This list with each table not written "proxy:" that a process
    /// opens itself (LocalTable) opened now, as stock's pre-jail
    /// initialisation opens it: call it as root before the chroot.
    /// Fixed-key files are read with stock `postmap -s` (run as `postmap`,
    /// `-c configDirectory`). A table that cannot be opened fails its
    /// lookups with the reason (stock's surrogate table); a table named
    /// twice is opened once, as stock shares it; what stock logs meanwhile
    /// is added to `tableNotices` (a `.fatal` one: stock's process ends).
    /// Other tables, and union/pipe tables with a member that is not
    /// local, are left to proxymap.
    public func loadingLocalTables(postmap: String, configDirectory: String) -> DomainList {
        var copy = self
        var opened: [String: LocalTable.Opened?] = [:]
        let dump = TableDump.postmap(postmap, configDirectory: configDirectory)
        copy.entries = entries.map { entry in
            guard case .table(let pattern, _) = entry.pattern, LocalTable.isLocal(pattern) else { return entry }
            let table: LocalTable.Opened?
            if let known = opened[pattern] {
                table = known
            } else {
                table = LocalTable.open(pattern, dump: dump)
                opened[pattern] = table
                copy.tableNotices += table?.notices ?? []
            }
            guard let table else { return entry }
            var loaded = entry
            loaded.pattern = .local(pattern: pattern, table: table.table)
            return loaded
        }
        return copy
    }
}

/// The entries of a table as `postmap -s` lists them ("key<TAB>value"
/// lines); a failure is postmap's last complaint, without its "postmap:
/// fatal: " prefix (the reason stock's daemon would give).
public enum TableDump {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Dumps with `postmap -c configDirectory -s`, for LocalTable.open.
    public static func postmap(_ postmap: String, configDirectory: String) -> LocalTable.Dump {
        { entries(of: $0, postmap: postmap, configDirectory: configDirectory) }
    }

    static func entries(of table: String, postmap: String, configDirectory: String) -> Result<[[UInt8]: [UInt8]], Failure> {
        let output: ChildProcess.Captured
        do {
            output = try ChildProcess.runCapturing([postmap, "-c", configDirectory, "-s", table], env: [], stdout: true)
        } catch {
            return .failure(Failure(description: "\(error)"))
        }
        guard output.status == 0 else {
            var text = String(decoding: output.stderr, as: UTF8.self).split(separator: "\n").last.map(String.init)
            if let complaint = text, complaint.hasPrefix("postmap: fatal: ") { text = String(complaint.dropFirst(16)) }
            return .failure(Failure(description: text ?? "\(postmap) -s exit status \(output.status)"))
        }
        var entries: [[UInt8]: [UInt8]] = [:]
        for line in output.stdout.split(separator: UInt8(ascii: "\n")) {
            let key = line.prefix { $0 != UInt8(ascii: "\t") }
            entries[Array(key)] = Array(line[key.endIndex...].dropFirst())
        }
        return .success(entries)
    }
}
