// LocalTable: a "type:name" lookup table that a process opens itself, as
// stock's dict_open does in a daemon's pre-jail initialisation, instead of
// asking proxymap(8):
// - regexp: and cidr: (a file, or "{{rule}, ...}" inline), static: and
//   fail:, read and evaluated here (RegexpTable, CidrTable);
// - hash, btree, cdb, lmdb, dbm, sdbm, texthash and inline: tables with
//   fixed keys, read in full by a dump (stock `postmap -s`) before the jail;
// - unionmap:{...} (the members' results joined with ",") and
//   pipemap:{...} (each member's result is the next one's key), when every
//   member is one of these; otherwise the table is not local (nil).
// Lookups go through stock's UTF-8 layer, as a match list's tables are
// opened with a UTF-8 request, when smtputf8_enable is on (`utf8`, stock's
// default): a key that is not valid UTF-8 is not found, with stock's
// warning handed to the caller's `warn`; a result that is not is a lookup
// error; with it off, stock has no such layer and neither is checked. A table stock cannot open (no file, bad inline text,
// unusable dump) is kept as its "surrogate": each lookup fails with the
// reason, which was also reported as an error notice when it was opened.
// Guarantees: never traps; opening reports stock's warnings, errors and
// fatal errors as TableNotices in stock's order; "proxy:" tables and other
// types are never opened here (`open` answers nil).
#if canImport(Glibc)
import Glibc
#endif
import PostfixText

public struct LocalTable: Sendable, Equatable {
    public enum Lookup: Equatable, Sendable {
        case found([UInt8])
        case notFound
        /// A lookup error; `detail` is what stock logs about it, if anything.
        case failed(detail: String?)
    }

    /// A table's entries as a dump gives them (key to value), or why it could not be read.
    public typealias Dump = (_ table: String) -> Result<[[UInt8]: [UInt8]], TableDump.Failure>

    public let type: String
    public let name: String
    /// Whether a match list looks up parent domains too (DICT_FLAG_FIXED).
    public let hasFixedKeys: Bool
    let kind: Kind

    indirect enum Kind: Equatable, Sendable {
        case regexp(RegexpTable)
        case cidr(CidrTable)
        /// static: every key has this value.
        case constant([UInt8])
        case fail
        case entries([[UInt8]: [UInt8]])
        case union([LocalTable])
        case pipe([LocalTable])
        /// A table stock could not open: every lookup fails for this reason.
        case unavailable(String)
    }

    /// Types read and evaluated here.
    static let evaluatedTypes: Set<String> = ["regexp", "cidr", "static", "fail", "unionmap", "pipemap"]
    /// Types with fixed keys read in full by a dump.
    static let dumpedTypes: Set<String> = ["hash", "btree", "cdb", "lmdb", "dbm", "sdbm", "texthash", "inline"]

    /// Whether `open` would open `spec` (its type; "proxy:" ones never).
    static func isLocal(_ spec: String) -> Bool {
        guard !spec.hasPrefix("proxy:"), let colon = spec.firstIndex(of: ":") else { return false }
        let type = String(spec[..<colon])
        return evaluatedTypes.contains(type) || dumpedTypes.contains(type)
    }

    // MARK: lookups

    /// The value for `key` (up to its first NUL), as a match list's table
    /// answers; `utf8`: smtputf8_enable, whether stock's UTF-8 layer checks
    /// the key and the result; `warn` gets what that layer logs about a key
    /// it skips (the lookup is then "not found").
    public func lookup(_ key: [UInt8], utf8: Bool = true, warn: (String) -> Void = { _ in }) -> Lookup {
        let key = Array(CText.cString(key))
        guard !utf8 || Self.isUTF8(key) else {
            warn("\(type):\(name): non-UTF-8 key \"\(Self.shown(key))\": \(Self.notUTF8)")
            return .notFound
        }
        let answer = evaluate(key, utf8: utf8)
        if utf8, case .found(let value) = answer, !Self.isUTF8(CText.cString(value)) {
            let value = CText.cString(value)
            return .failed(detail: "\(type):\(name): key \"\(Self.shown(key))\": non-UTF-8 value \"\(Self.shown(value))\": \(Self.notUTF8)")
        }
        return answer
    }

    private static let notUTF8 = "malformed UTF-8 or invalid codepoint"

    /// Bytes in a warning as stock's log shows them: what is not UTF-8
    /// becomes "?" here, before the text is a Swift string (which would make
    /// it U+FFFD); the log's own filter does the rest.
    private static func shown<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: PrintableText.bytes(Array(bytes), utf8: true), as: UTF8.self)
    }

    private func evaluate(_ key: [UInt8], utf8: Bool) -> Lookup {
        switch kind {
        case .regexp(let table): return table.lookup(key).map { .found($0) } ?? .notFound
        case .cidr(let table): return table.lookup(key).map { .found($0) } ?? .notFound
        case .constant(let value): return .found(value)
        case .fail: return .failed(detail: nil)
        case .entries(let entries): return entries[key].map { .found($0) } ?? .notFound
        case .unavailable(let reason): return .failed(detail: "\(type):\(name) is unavailable. \(reason)")
        case .union(let members): return Self.union(members, key, utf8: utf8)
        case .pipe(let members): return Self.pipe(members, key, utf8: utf8)
        }
    }

    /// Every member's value, joined with ","; an empty value adds nothing,
    /// and nothing at all is "not found" (as stock's buffer test says).
    private static func union(_ members: [LocalTable], _ key: [UInt8], utf8: Bool) -> Lookup {
        var joined: [UInt8] = []
        for member in members {
            switch member.lookup(key, utf8: utf8) {
            case .found(let value):
                if !joined.isEmpty { joined.append(UInt8(ascii: ",")) }
                joined += CText.cString(value)
            case .notFound: continue
            case .failed(let detail): return .failed(detail: detail)
            }
        }
        return joined.isEmpty ? .notFound : .found(joined)
    }

    /// Each member's value is the next member's key; the last one's is the result.
    private static func pipe(_ members: [LocalTable], _ key: [UInt8], utf8: Bool) -> Lookup {
        var query = key
        for member in members {
            switch member.lookup(query, utf8: utf8) {
            case .found(let value): query = Array(CText.cString(value))
            case .notFound: return .notFound
            case .failed(let detail): return .failed(detail: detail)
            }
        }
        return .found(query)
    }

    /// RFC 3629 UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), as stock checks it.
    static func isUTF8<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        bytes.allSatisfy { $0 < 0x80 } || String(validating: bytes, as: UTF8.self) != nil
    }
}

// MARK: opening

extension LocalTable {
    public struct Opened: Equatable, Sendable {
        public let table: LocalTable
        public let notices: [TableNotice]
    }

    /// `spec` ("type:name") opened as stock's daemons open it before the
    /// jail; `dump` reads fixed-key types (nil: they are not local here).
    /// Nil when the table is not one this process opens.
    public static func open(_ spec: String, dump: Dump?) -> Opened? {
        var notices: [TableNotice] = []
        guard let table = open(spec, dump: dump, notices: &notices) else { return nil }
        return Opened(table: table, notices: notices)
    }

    private static func open(_ spec: String, dump: Dump?, notices: inout [TableNotice]) -> LocalTable? {
        guard let colon = spec.firstIndex(of: ":") else { return nil }
        let type = String(spec[..<colon])
        let name = String(spec[spec.index(after: colon)...])
        func made(_ kind: Kind, fixed: Bool = false) -> LocalTable {
            LocalTable(type: type, name: name, hasFixedKeys: fixed, kind: kind)
        }
        func unavailable(_ reason: String) -> LocalTable {
            notices.append(TableNotice(.error, reason))
            return made(.unavailable(reason))
        }
        if let problem = DomainList.typeNameProblem(spec) {
            notices.append(TableNotice(.fatal, problem))
            return made(.unavailable(problem))
        }
        guard isLocal(spec) else { return nil }
        switch type {
        case "regexp", "cidr":
            switch TableText.read(type: type, name: name) {
            case .success(let text): return patternTable(type: type, name: name, text: text, notices: &notices)
            case .failure(let why): return unavailable(why.description)
            }
        case "static":
            guard name.hasPrefix("{") else { return made(.constant(Array(name.utf8)), fixed: true) }
            switch BracedText.inside(Array(name.utf8)[...], strip: true) {
            case .success(let value): return made(.constant(Array(value)), fixed: true)
            case .failure(let why): return unavailable("bad static:name syntax: \(why)")
            }
        case "fail":
            return made(.fail)
        case "unionmap", "pipemap":
            guard let members = composite(type: type, name: name, dump: dump, notices: &notices) else { return nil }
            switch members {
            case .success(let tables):
                return made(type == "unionmap" ? .union(tables) : .pipe(tables), fixed: tables.first?.hasFixedKeys ?? false)
            case .failure(let why):
                return unavailable(why.description)
            }
        default:
            guard let dump else { return nil }
            switch dump(spec) {
            case .success(let entries): return made(.entries(entries), fixed: true)
            case .failure(let why): return unavailable(why.description)
            }
        }
    }

    /// A regexp or cidr table from its file or inline text.
    private static func patternTable(type: String, name: String, text: TableText,
                                     notices: inout [TableNotice]) -> LocalTable {
        var warnings: [String] = []
        let items = LogicalLineReader.items(text.bytes)
        let kind: Kind = type == "regexp" ? .regexp(RegexpTable(name: name, items: items, source: text.source, warnings: &warnings))
            : .cidr(CidrTable(name: name, items: items, source: text.source, warnings: &warnings))
        notices += warnings.map { TableNotice(.warning, $0) }
        // Stock ignores a regexp file's read error (the rules read so far
        // stand) but ends the process for a cidr file's.
        if type == "cidr", let code = text.readError {
            notices.append(TableNotice(.fatal, "cidr map \(name): read error: \(SystemError.text(code))"))
        }
        return LocalTable(type: type, name: name, hasFixedKeys: false, kind: kind)
    }

    /// The members of "unionmap:{type:name, ...}" or "pipemap:{...}": nil
    /// when one of them is not local; stock's syntax complaint when the
    /// braces hold no members or a member is not "type:name".
    private static func composite(type: String, name: String, dump: Dump?,
                                  notices: inout [TableNotice]) -> Result<[LocalTable], BracedTextError>? {
        let syntax = BracedTextError(description: "bad syntax: \"\(type):\(name)\"; need \"\(type):{type:name...}\"")
        guard let specs = memberSpecs(name) else { return .failure(syntax) }
        var members: [LocalTable] = []
        for spec in specs {
            guard let member = open(spec, dump: dump, notices: &notices) else { return nil }
            members.append(member)
        }
        return .success(members)
    }

    /// The "type:name" members of a unionmap or pipemap's `name`
    /// ("{type:name, ...}"), nil when stock refuses its syntax.
    static func memberSpecs(_ name: String) -> [String]? {
        let text = Array(name.utf8)[...]
        guard let length = BracedText.balancedLength(text), length == text.count else { return nil }
        let specs = BracedText.items(text.dropFirst().dropLast())
        guard !specs.isEmpty, specs.allSatisfy({ $0.contains(UInt8(ascii: ":")) }) else { return nil }
        return specs.map(CText.string)
    }
}
