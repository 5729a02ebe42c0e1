// MasterQuery: the master.cf queries `postconf -M`, `-F` and `-P`.
// Guarantees (observed on stock 3.7.11 postconf):
// - every operand is a ServicePattern (-M: 1-2 parts; -F, -P: 1-3), checked
//   in operand order before anything is printed; -F field names must be
//   real ones or "*";
// - entries go in file order; for each entry, each operand that selects it
//   prints it again (so overlapping operands print an entry twice); with no
//   operand, everything is printed;
// - -F prints "name/type/field = value" (-h: the value alone; -H: the name
//   alone); a value that would pass column 80 after the name starts on a new
//   line indented by four spaces; command arguments follow separated by one
//   space, or with -f folded: each "-o name=value" on a line of its own and
//   lines kept under 80 columns;
// - -P prints an entry's "-o name=value" settings sorted by name, as
//   "name/type/parameter = value" (-h, -H as above), whitespace runs shown as
//   one space and, with -f, folded like main.cf values; entries without
//   settings select nothing;
// - -x expands "$name" in "-o" values against the entry's own settings
//   (where process_name is the command's base name and service_name the
//   entry's name), then main.cf and the built-in defaults;
// - an operand that selects nothing draws "unmatched request: "<operand>"".

import PostfixConfig

struct MasterQuery {
    let mode: PostconfMode
    let entries: [MasterTableEntry]
    /// Each entry's -o settings, as ParameterUsage left them (read-only ones dropped).
    let settings: [[(String, String)]]
    let main: MainConfig

    static let lineLimit = 80
    static let indent = "    "
    static var fieldNames: [String] { MasterEntryText.fieldNames }

    /// Output lines (a line may hold folded continuation lines) and warnings.
    func run(_ operands: [String]) throws -> (out: [String], warnings: [String]) {
        let patterns = try operands.map(parse)
        var out: [String] = []
        var matched = Array(repeating: false, count: patterns.count)
        for (index, entry) in entries.enumerated() {
            if patterns.isEmpty {
                out += try show(index, entry, nil)
                continue
            }
            for (p, pattern) in patterns.enumerated() where pattern.matches(name: entry.name, type: entry.type) {
                let lines = try show(index, entry, pattern)
                if mode.contains(.serviceParameters) && lines.isEmpty { continue }
                matched[p] = true
                out += lines
            }
        }
        let warnings = operands.indices.filter { !matched[$0] }.map { "unmatched request: \"\(operands[$0])\"" }
        return (out, warnings)
    }

    func parse(_ operand: String) throws -> ServicePattern {
        if mode.contains(.master) {
            guard let pattern = ServicePattern(operand, parts: 1...2) else {
                throw PostconfError.fatal("-M option requires service_name[/type]")
            }
            return pattern
        }
        let fields = mode.contains(.fields)
        guard let pattern = ServicePattern(operand, parts: 1...3) else {
            throw PostconfError.fatal(fields ? "-F option requires service_name[/type[/field]]"
                                             : "-P option requires service_name[/type[/parameter]]")
        }
        if fields && !pattern.isWildcardLast && !Self.fieldNames.contains(pattern.last) {
            throw PostconfError.fatal("invalid service attribute name: \"\(pattern.last)\"")
        }
        return pattern
    }

    func show(_ index: Int, _ entry: MasterTableEntry, _ pattern: ServicePattern?) throws -> [String] {
        if mode.contains(.master) { return [try entryText(index, entry)] }
        let wanted = pattern.map { $0.isWildcardLast ? nil : $0.last } ?? nil
        if mode.contains(.fields) {
            let indices = wanted.flatMap { Self.fieldNames.firstIndex(of: $0) }.map { [$0] } ?? Array(0..<8)
            return try indices.map { try fieldText(index, entry, $0) }
        }
        return try settings[index].sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            .filter { wanted == nil || $0.0 == wanted }
            .map { try parameterText(index, entry, $0.0, $0.1) }
    }

    // MARK: formatting

    func expanded(_ text: String, _ index: Int) throws -> String {
        guard mode.contains(.expand) else { return text }
        // In an entry, process_name is the command's base name and service_name the entry's name.
        let command = entries[index].words[0]
        let own = [("process_name", String(command.split(separator: "/").last ?? Substring(command))),
                   ("service_name", entries[index].name)]
        do { return try main.with(overrides: own + settings[index]).expand(text) } catch let error as ConfigError {
            throw PostconfError.fatalAfter(warnings: error.warnings, "macro processing error")
        }
    }

    /// -M: the entry in stock's columns, or folded as an edit writes it (-f).
    func entryText(_ index: Int, _ entry: MasterTableEntry) throws -> String {
        guard var text = MasterEntryText(words: Array(entry.fields.prefix(7)) + entry.words) else {
            return (entry.fields.prefix(7) + entry.words).joined(separator: " ")   // MasterTable guarantees 8 words
        }
        for (i, argument) in text.arguments.enumerated() {
            if case .parameter(let name, let value?) = argument {
                let setting = try expanded(name + "=" + value, index)
                let eq = setting.firstIndex(of: "=") ?? setting.endIndex
                text.arguments[i] = .parameter(String(setting[..<eq]),
                                               eq < setting.endIndex ? String(setting[setting.index(after: eq)...]) : nil)
            }
        }
        return mode.contains(.fold) ? String(text.text().dropLast()) : text.line()
    }

    /// -F: one field of one entry.
    func fieldText(_ index: Int, _ entry: MasterTableEntry, _ field: Int) throws -> String {
        var line = LineBuilder()
        if !mode.contains(.hideName) { line.add("\(entry.name)/\(entry.type)/\(Self.fieldNames[field])") }
        if mode.contains(.hideValue) { return line.text }
        if !mode.contains(.hideName) { line.add(" = ") }
        let value = field == 7 ? entry.words[0] : entry.fields[field]
        if line.width > 0 && line.width + value.utf8.count > Self.lineLimit { line.breakLine() }
        line.add(value)
        guard field == 7 else { return line.text }
        for argument in MasterEntryText.arguments(Array(entry.words.dropFirst())) {
            var words: [String]
            switch argument {
            case .parameter(let name, let value):
                words = ["-o", try expanded(name + (value.map { "=" + $0 } ?? ""), index)]
                line.width = Self.lineLimit     // an option with a value starts a new line
            case .flag(let w), .word(let w): words = [w]
            }
            line.separate(before: words.joined(separator: " ").utf8.count, fold: mode.contains(.fold))
            line.add(words.joined(separator: " "))
            if words.count > 1 { line.width = Self.lineLimit }   // ... and ends it
        }
        return line.text
    }

    /// -P: one setting of one entry.
    func parameterText(_ index: Int, _ entry: MasterTableEntry, _ name: String, _ value: String) throws -> String {
        let key = "\(entry.name)/\(entry.type)/\(name)"
        if mode.contains(.hideValue) { return key }
        let shown = try expanded(value, index)
        return ParameterPrinter.fold(mode.contains(.hideName) ? shown : "\(key) = \(shown)", fold: mode.contains(.fold))
    }
}

/// A line under construction, with stock's column accounting for folding.
struct LineBuilder {
    var text = ""
    var width = 0

    mutating func add(_ s: String) { text += s; width += s.utf8.count }

    mutating func breakLine() { text += "\n" + MasterQuery.indent; width = MasterQuery.indent.utf8.count }

    /// The separator before an item of `length` bytes: a space, or with `fold`
    /// a line break when the item would reach the limit; none at a line start.
    mutating func separate(before length: Int, fold: Bool) {
        guard width > MasterQuery.indent.utf8.count else { return }
        if !fold || width + 1 + length < MasterQuery.lineLimit { add(" ") } else { breakLine() }
    }
}
