// MasterCfEditor: rewrites master.cf text for `postconf -Me`, `-MX`, `-M#`,
// `-Fe`, `-Pe` and `-PX`.
// Guarantees (observed on stock 3.7.11 postconf): lines of entries that are
// not edited, comment lines and blank lines are kept byte for byte; a service
// pattern "name/type" may use "*" for either part; -Me writes the new entry
// in place of every matching entry's first line (dropping its continuation
// lines) or, when none matches, appends it at the end without adding a
// newline before it; -MX drops and -M# comments out ("#" prefix) a matching
// entry's lines; -Fe/-Pe/-PX rewrite a matching entry (MasterEntryText) and
// write it where the next entry starts (or at the end), so comment lines
// between its lines come first; -Fe, -Pe and -PX requests that match
// nothing are reported (-M requests are not). An entry line without both
// name and type, a name holding "=" or a type holding "=" or "/" is refused
// with the file and line, as stock does.
// -Me also removes later entries that match its pattern or carry the new
// entry's own name/type (the first such entry is the one replaced); -Fe
// values are checked only against entries they apply to (a bad value for a
// matching entry is refused, nothing is written).

enum MasterCfEdit: Equatable {
    case setEntry([(pattern: ServicePattern, entry: MasterEntryText)])
    case removeEntry([ServicePattern])
    case commentEntry([ServicePattern])
    case setField([(pattern: ServicePattern, field: Int, value: String, request: String)])
    case setParameter([(pattern: ServicePattern, name: String, value: String, request: String)])
    case removeParameter([(pattern: ServicePattern, name: String, request: String)])

    static func == (a: MasterCfEdit, b: MasterCfEdit) -> Bool { "\(a)" == "\(b)" }
}

enum MasterCfEditor {
    /// Applies `edit`; returns the new text and the requests that matched nothing.
    static func apply(_ edit: MasterCfEdit, to text: [UInt8], path: String) throws -> (text: [UInt8], unmatched: [String]) {
        var out: [UInt8] = []
        var matched = Set<Int>()
        var held: (entry: [String], requests: [Int])?
        var current: [Int] = []       // requests matching the entry being copied
        var lineMode = LineMode.copy

        func flush() {
            guard let h = held else { return }
            var entry = MasterEntryText(words: splitWords(h.entry.joined(separator: " ")))
            for r in h.requests { entry = entry.map { modify($0, edit, r) } }
            out += Array((entry?.text() ?? h.entry.map { $0 + "\n" }.joined()).utf8)
            held = nil
        }

        for (number, line) in MainCfEditor.physicalLines(text).enumerated() {
            switch MainCfEditor.classify(line) {
            case .commentOrBlank:
                out += line
            case .continuation:
                if held != nil { held?.entry.append(String(decoding: line, as: UTF8.self)); continue }
                switch lineMode {
                case .copy: out += line
                case .drop: break
                case .comment: out += [UInt8(ascii: "#")] + line
                }
            case .entry:
                flush()
                let words = splitWords(String(decoding: line, as: UTF8.self))
                try checkNameAndType(words, path: path, line: number + 1)
                current = requests(edit).indices.filter { i in
                    if requests(edit)[i].matches(name: words[0], type: words[1]) { return true }
                    if case .setEntry(let list) = edit {
                        return list[i].entry.fields[0] == words[0] && list[i].entry.fields[1] == words[1]
                    }
                    return false
                }
                if case .setField(let list) = edit {
                    for i in current where MasterEntryText.invalid(field: list[i].field, list[i].value) {
                        let name = MasterEntryText.fieldNames[list[i].field]
                        throw PostconfError.fatal("invalid \(name) field \"\(list[i].value)\" in \"\(list[i].value)\"")
                    }
                }
                lineMode = .copy
                if current.isEmpty { out += line; continue }
                switch edit {
                case .setEntry(let list):
                    // The first targeted entry becomes the new one; later ones go.
                    let fresh = current.filter { !matched.contains($0) }
                    if let i = fresh.last { out += Array(list[i].entry.text().utf8) }
                    lineMode = .drop
                case .removeEntry: lineMode = .drop
                case .commentEntry: out += [UInt8(ascii: "#")] + line; lineMode = .comment
                default: held = ([String(decoding: line, as: UTF8.self)], current)
                }
                matched.formUnion(current)
            }
        }
        flush()
        var unmatched: [String] = []
        for i in requests(edit).indices where !matched.contains(i) {
            switch edit {
            case .setEntry(let list): out += Array(list[i].entry.text().utf8)
            case .setField(let l): unmatched.append(l[i].request)
            case .setParameter(let l): unmatched.append(l[i].request)
            case .removeParameter(let l): unmatched.append(l[i].request)
            default: break
            }
        }
        return (out, unmatched)
    }

    enum LineMode { case copy, drop, comment }

    /// Stock's refusals of entry lines it cannot edit.
    static func checkNameAndType(_ words: [String], path: String, line: Int) throws {
        let prefix = "file \(path): line \(line): "
        guard words.count >= 2 else {
            throw PostconfError.fatal(prefix + "specify service name and type on the same line")
        }
        if words[0].contains("=") {
            throw PostconfError.fatal(prefix + "service name syntax \"\(words[0])\" is unsupported with \(MasterCfRequests.editOptions)")
        }
        if words[1].contains(where: { $0 == "=" || $0 == "/" }) {
            throw PostconfError.fatal(prefix + "service type syntax \"\(words[1])\" is unsupported with \(MasterCfRequests.editOptions)")
        }
    }

    static func requests(_ edit: MasterCfEdit) -> [ServicePattern] {
        switch edit {
        case .setEntry(let l): return l.map(\.pattern)
        case .removeEntry(let l), .commentEntry(let l): return l
        case .setField(let l): return l.map(\.pattern)
        case .setParameter(let l): return l.map(\.pattern)
        case .removeParameter(let l): return l.map(\.pattern)
        }
    }

    static func modify(_ entry: MasterEntryText, _ edit: MasterCfEdit, _ index: Int) -> MasterEntryText {
        var e = entry
        switch edit {
        case .setField(let l): e.setField(l[index].field, l[index].value)
        case .setParameter(let l): e.setParameter(l[index].name, l[index].value)
        case .removeParameter(let l): e.removeParameter(l[index].name)
        default: break
        }
        return e
    }
}
