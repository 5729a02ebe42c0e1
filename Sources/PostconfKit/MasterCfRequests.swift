// MasterCfRequests: the operands of `postconf -Me|-MX|-M#|-Fe|-Pe|-PX` turned
// into a MasterCfEdit, with stock's refusals and their words.
// Guarantees (observed on stock 3.7.11 postconf): every operand is checked,
// in operand order, before anything is written: no newline; no leading "#";
// "name = value" where a value is needed (both sides trimmed), no "=" where
// none is; a ServicePattern of exactly "service/type" (-M) or
// "service/type/field|parameter" (-F, -P); -F field names must be real,
// not "*", and only the command field may hold whitespace; -P names may not
// be "*" and -Pe values may not hold whitespace; -Me entries need eight
// fields with valid values; an empty -Fe command is refused (stock crashes
// on it, a documented deviation). (-Fe values are checked by MasterCfEditor, only
// for entries they apply to, as stock does.) A request keeps its operand
// exactly as given, for the "unmatched service_name/type" warning.

enum MasterCfRequests {
    enum Table { case master, fields, parameters }
    enum Action { case set, remove, comment }

    static let editOptions = "-Me, -Fe, -Pe, -X, or -#"

    static func edit(_ table: Table, _ action: Action, _ operands: [String]) throws -> MasterCfEdit {
        let requests = try operands.map { try Request($0, table, action) }
        switch (table, action) {
        case (.master, .set):
            return .setEntry(try requests.map { r in
                guard let entry = MasterEntryText(words: splitWords(r.value)) else {
                    throw PostconfError.fatal("bad field count: \"\(r.raw)\"")
                }
                if let problem = entry.validation(context: r.value) { throw PostconfError.fatal(problem) }
                return (r.pattern, entry)
            })
        case (.master, .remove): return .removeEntry(requests.map(\.pattern))
        case (.master, .comment): return .commentEntry(requests.map(\.pattern))
        case (.fields, _):
            return .setField(requests.map { r in
                (r.pattern, MasterEntryText.fieldNames.firstIndex(of: r.pattern.last) ?? 7, r.value, r.raw)
            })
        case (.parameters, .set):
            return .setParameter(requests.map { ($0.pattern, $0.pattern.last, $0.value, $0.raw) })
        case (.parameters, _):
            return .removeParameter(requests.map { ($0.pattern, $0.pattern.last, $0.raw) })
        }
    }

    /// One operand, checked.
    struct Request {
        let raw: String
        let pattern: ServicePattern
        let value: String

        init(_ raw: String, _ table: Table, _ action: Action) throws {
            self.raw = raw
            if raw.contains("\n") { throw PostconfError.fatal("\(editOptions) accept no multi-line input") }
            if trim(raw).hasPrefix("#") { throw PostconfError.fatal("\(editOptions) accept no comment input") }
            let key: String
            if action == .set {
                (key, value) = try splitNameValue(raw)
            } else {
                if raw.contains("=") { throw PostconfError.fatal("-X or -# requires names without value") }
                (key, value) = (trim(raw), "")
            }
            let parts = table == .master ? 2 : 3
            guard let pattern = ServicePattern(key, parts: parts...parts) else {
                switch table {
                case .master: throw PostconfError.fatal("-Me, -MX or -M# requires service_name/type")
                case .fields: throw PostconfError.fatal("-Fe or -FX requires service_name/type/field_name")
                case .parameters: throw PostconfError.fatal("-Pe or -PX requires service_name/type/parameter")
                }
            }
            self.pattern = pattern
            let hasSpace = value.contains { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            switch table {
            case .master: break
            case .fields:
                if pattern.isWildcardLast { throw PostconfError.fatal("-Fe does not accept wild-card field name") }
                guard let field = MasterEntryText.fieldNames.firstIndex(of: pattern.last) else {
                    throw PostconfError.fatal("invalid service attribute name: \"\(pattern.last)\"")
                }
                if field < 7 && hasSpace { throw PostconfError.fatal("-Fe does not accept whitespace in non-command field") }
                // Stock crashes on an empty command (SIGSEGV); refuse it instead.
                if field == 7 && action == .set && value.isEmpty { throw PostconfError.fatal("invalid command field \"\" in \"\"") }
            case .parameters:
                if pattern.isWildcardLast { throw PostconfError.fatal("-Pe does not accept wild-card parameter name") }
                if hasSpace { throw PostconfError.fatal("-Pe does not accept whitespace in parameter value") }
            }
        }
    }

    /// "name = value" with both sides trimmed, or stock's refusal.
    static func splitNameValue(_ arg: String) throws -> (String, String) {
        let bytes = Array(arg.utf8)
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), bytes[start] != UInt8(ascii: "=") else {
            throw PostconfError.fatal("missing attribute name: \"\(arg)\"")
        }
        let end = bytes[start...].firstIndex { isSpace($0) || $0 == UInt8(ascii: "=") } ?? bytes.endIndex
        guard let eq = bytes[end...].firstIndex(where: { !isSpace($0) }), bytes[eq] == UInt8(ascii: "=") else {
            throw PostconfError.fatal("missing '=' after attribute name: \"\(arg)\"")
        }
        return (String(decoding: bytes[start..<end], as: UTF8.self), trim(String(decoding: bytes[(eq + 1)...], as: UTF8.self)))
    }
}
