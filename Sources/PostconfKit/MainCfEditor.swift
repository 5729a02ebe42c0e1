// MainCfEditor: rewrites main.cf text for `postconf -e`, `-X` and `-#`.
// Guarantees (observed on stock 3.7.11 postconf): every line that is not part
// of a targeted entry is kept byte for byte, comment and blank lines are kept
// even inside a targeted entry; every occurrence of a targeted name is edited;
// `-e` writes "name = value" (an empty value keeps the space) in place of the whole entry (continuations
// dropped) and appends names not present, in request order, to the end of the
// text exactly as stock does (no newline is added before them).

public enum MainCfEdit: Sendable, Equatable {
    case set([(String, String)])   // -e name=value ...
    case remove([String])          // -X name ...
    case commentOut([String])      // -# name ...

    public static func == (a: MainCfEdit, b: MainCfEdit) -> Bool {
        switch (a, b) {
        case let (.set(x), .set(y)): return x.map { $0.0 + "=" + $0.1 } == y.map { $0.0 + "=" + $0.1 }
        case let (.remove(x), .remove(y)), let (.commentOut(x), .commentOut(y)): return x == y
        default: return false
        }
    }
}

public enum MainCfEditor {
    /// Applies `edit` to the main.cf bytes and returns the new bytes.
    public static func apply(_ edit: MainCfEdit, to text: [UInt8]) -> [UInt8] {
        let targets = targetNames(edit)
        var out: [UInt8] = []
        var inTarget = false
        var written: Set<String> = []
        for line in physicalLines(text) {
            switch classify(line) {
            case .commentOrBlank:
                out += line
            case .continuation:
                if !inTarget { out += line } else if case .commentOut = edit { out += [UInt8(ascii: "#")] + line }
            case .entry(let name):
                inTarget = targets.contains(name)
                guard inTarget else { out += line; continue }
                out += replacement(for: name, edit: edit, original: line)
                written.insert(name)
            }
        }
        if case .set(let pairs) = edit {
            for name in orderedUnique(pairs.map(\.0)) where !written.contains(name) {
                out += entryBytes(name, lastValue(name, in: pairs))
            }
        }
        return out
    }

    private static func targetNames(_ edit: MainCfEdit) -> Set<String> {
        switch edit {
        case .set(let pairs): return Set(pairs.map(\.0))
        case .remove(let names), .commentOut(let names): return Set(names)
        }
    }

    private static func replacement(for name: String, edit: MainCfEdit, original: [UInt8]) -> [UInt8] {
        switch edit {
        case .set(let pairs): return entryBytes(name, lastValue(name, in: pairs))
        case .remove: return []
        case .commentOut: return [UInt8(ascii: "#")] + original
        }
    }

    private static func lastValue(_ name: String, in pairs: [(String, String)]) -> String {
        pairs.last(where: { $0.0 == name })?.1 ?? ""
    }

    static func entryBytes(_ name: String, _ value: String) -> [UInt8] {
        Array("\(name) = \(value)\n".utf8)
    }

    private static func orderedUnique(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    enum LineKind: Equatable { case commentOrBlank, continuation, entry(String) }

    /// How stock postconf's editor sees one physical line.
    static func classify(_ line: [UInt8]) -> LineKind {
        guard let first = line.firstIndex(where: { !isSpace($0) }) else { return .commentOrBlank }
        if line[first] == UInt8(ascii: "#") { return .commentOrBlank }
        if first > 0 { return .continuation }
        let nameEnd = line.firstIndex(where: { isSpace($0) || $0 == UInt8(ascii: "=") }) ?? line.count
        return .entry(String(decoding: line[0..<nameEnd], as: UTF8.self))
    }

    /// Physical lines including their "\n" (the last may lack it).
    static func physicalLines(_ text: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = 0
        for (i, c) in text.enumerated() where c == 0x0A {
            lines.append(Array(text[start...i]))
            start = i + 1
        }
        if start < text.count { lines.append(Array(text[start...])) }
        return lines
    }
}

/// Space, tab, newline, vertical tab, form feed, carriage return.
func isSpace(_ c: UInt8) -> Bool {
    c == 0x20 || (c >= 0x09 && c <= 0x0D)
}
