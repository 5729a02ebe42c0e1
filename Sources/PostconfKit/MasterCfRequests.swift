// MasterCfRequests: the operands of `postconf -Me|-MX|-M#|-Fe|-Pe|-PX` turned
// into a MasterCfEdit, with stock's refusals and their words.
// Guarantees: every operand is checked before anything is written: "=" where
// a value is needed, "service/type" (-M) or "service/type/field|parameter"
// (-F, -P) with no empty part, at least eight fields and valid field values
// for -Me, known field names, no whitespace in -Pe values. (-Fe values are
// checked by MasterCfEditor, only for entries they apply to, as stock does.)

enum MasterCfRequests {
    enum Table { case master, fields, parameters }
    enum Action { case set, remove, comment }

    static func edit(_ table: Table, _ action: Action, _ operands: [String]) throws -> MasterCfEdit {
        if operands.isEmpty && action == .set { throw PostconfError.fatal("-e requires name=value argument") }
        switch (table, action) {
        case (.master, .set):
            return .setEntry(try operands.map { arg in
                let (key, value) = try split(arg)
                let pattern = try servicePattern(key, parts: 2, table: .master)
                guard let entry = MasterEntryText(words: splitWords(value)) else {
                    throw PostconfError.fatal("bad field count: \"\(arg)\"")
                }
                if let problem = entry.validation(context: value) { throw PostconfError.fatal(problem) }
                return (pattern, entry)
            })
        case (.master, _):
            let patterns = try operands.map { arg -> String in
                if arg.contains("=") { throw PostconfError.fatal("specify one of -e -X") }
                return try servicePattern(trim(arg), parts: 2, table: .master)
            }
            return action == .remove ? .removeEntry(patterns) : .commentEntry(patterns)
        case (.fields, .set):
            return .setField(try operands.map { arg in
                let (key, value) = try split(arg)
                let parts = try servicePattern(key, parts: 3, table: .fields).split(separator: "/").map(String.init)
                guard let index = MasterEntryText.fieldNames.firstIndex(of: parts[2]) else {
                    throw PostconfError.fatal("invalid service attribute name: \"\(parts[2])\"")
                }
                if index == 7 && value.isEmpty { throw PostconfError.fatal("invalid command field \"\" in \"\"") }
                return (parts[0] + "/" + parts[1], index, value, trim(arg))
            })
        case (.fields, _):
            throw PostconfError.fatal("with option -F, do not specify -\(action == .remove ? "X" : "#")")
        case (.parameters, .set):
            return .setParameter(try operands.map { arg in
                let (key, value) = try split(arg)
                let parts = try servicePattern(key, parts: 3, table: .parameters).split(separator: "/").map(String.init)
                if value.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) {
                    throw PostconfError.fatal("-Pe does not accept whitespace in parameter value")
                }
                return (parts[0] + "/" + parts[1], parts[2], value, trim(arg))
            })
        case (.parameters, .remove):
            return .removeParameter(try operands.map { arg in
                if arg.contains("=") { throw PostconfError.fatal("specify one of -e -X") }
                let parts = try servicePattern(trim(arg), parts: 3, table: .parameters).split(separator: "/").map(String.init)
                return (parts[0] + "/" + parts[1], parts[2], trim(arg))
            })
        case (.parameters, .comment):
            throw PostconfError.fatal("with option -P, do not specify -#")
        }
    }

    /// "name = value" with both sides trimmed, or stock's refusal.
    static func split(_ arg: String) throws -> (String, String) {
        guard let eq = arg.firstIndex(of: "=") else {
            throw PostconfError.fatal("missing '=' after attribute name: \"\(trim(arg))\"")
        }
        return (trim(String(arg[..<eq])), trim(String(arg[arg.index(after: eq)...])))
    }

    static func servicePattern(_ key: String, parts: Int, table: Table) throws -> String {
        let pieces = key.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == parts, !pieces.contains(where: \.isEmpty) else {
            switch table {
            case .master: throw PostconfError.fatal("-Me, -MX or -M# requires service_name/type")
            case .fields: throw PostconfError.fatal("-Fe or -FX requires service_name/type/field_name")
            case .parameters: throw PostconfError.fatal("-Pe or -PX requires service_name/type/parameter")
            }
        }
        return key
    }
}
