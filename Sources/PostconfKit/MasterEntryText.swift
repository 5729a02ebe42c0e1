// MasterEntryText: one master.cf service entry as stock postconf rewrites it
// when editing (-Me, -Fe, -Pe, -PX).
// Guarantees (observed on stock 3.7.11 postconf):
// - the leading options of the command are "-o name=value" (also written
//   "-oname=value") and other "-x" flags, up to the first word not starting
//   with "-" or "--"; only leading "-o" settings are service parameters;
// - output: the seven fields and the command padded to columns 0, 11, 17,
//   25, 33, 41, 49, 57 (at least one space between), then each leading "-o"
//   on its own continuation line "    -o name=value"; the word after such a
//   line starts a new line; other words are appended while the line stays
//   within 79 characters, else start a new "    " line; "\n" ends every line;
// - field values are checked as stock does: type inet|unix|fifo|pass|unix-dgram,
//   private/unprivileged/chroot y|n|-, wakeup digits with an optional "?"
//   or "-", process_limit digits or "-".

public struct MasterEntryText: Equatable {
    public enum Argument: Equatable {
        case parameter(String, String?)   // -o name=value (value nil: no "=")
        case flag(String)                 // other leading -x words
        case word(String)                 // everything from the first non-option on
    }

    public var fields: [String]           // service .. process_limit (7)
    public var command: String
    public var arguments: [Argument]

    public static let fieldNames = ["service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit", "command"]

    /// Parses the words of a whole entry; nil with fewer than 8 words.
    public init?(words: [String]) {
        guard words.count >= 8 else { return nil }
        fields = Array(words[0..<7])
        command = words[7]
        arguments = Self.arguments(Array(words[8...]))
    }

    static func arguments(_ words: [String]) -> [Argument] {
        var result: [Argument] = []
        var i = 0
        var leading = true
        while i < words.count {
            let w = words[i]
            i += 1
            if leading && w == "-o" && i < words.count {
                result.append(parameter(words[i])); i += 1
            } else if leading && w.hasPrefix("-o") && w.count > 2 {
                result.append(parameter(String(w.dropFirst(2))))
            } else if leading && w.hasPrefix("-") && w != "--" {
                result.append(.flag(w))
            } else {
                leading = false
                result.append(.word(w))
            }
        }
        return result
    }

    static func parameter(_ text: String) -> Argument {
        guard let eq = text.firstIndex(of: "=") else { return .parameter(text, nil) }
        return .parameter(String(text[..<eq]), String(text[text.index(after: eq)...]))
    }

    /// Sets every leading -o NAME, or adds one after the last leading option.
    public mutating func setParameter(_ name: String, _ value: String) {
        var found = false
        for (i, a) in arguments.enumerated() {
            if case .parameter(name, _) = a { arguments[i] = .parameter(name, value); found = true }
        }
        guard !found else { return }
        let end = arguments.firstIndex { if case .word = $0 { return true }; return false } ?? arguments.count
        arguments.insert(.parameter(name, value), at: end)
    }

    public mutating func removeParameter(_ name: String) {
        arguments.removeAll { if case .parameter(name, _) = $0 { return true }; return false }
    }

    /// Replaces one of the eight fields; the command field may carry arguments.
    public mutating func setField(_ index: Int, _ value: String) {
        if index < 7 { fields[index] = value; return }
        let words = splitWords(value)
        command = words.first ?? ""
        arguments = Self.arguments(Array(words.dropFirst()))
    }

    /// Why a field value is refused, or nil.
    public static func invalid(field index: Int, _ value: String) -> Bool {
        let digits = { (s: Substring) in !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }
        switch index {
        case 1: return !["inet", "unix", "fifo", "pass", "unix-dgram"].contains(value)
        case 2, 3, 4: return !["y", "n", "-"].contains(value)
        case 5: return value != "-" && !digits(value.hasSuffix("?") ? value.dropLast() : Substring(value))
        case 6: return value != "-" && !digits(Substring(value))
        default: return false
        }
    }

    /// The first invalid field as stock words it ("invalid F field "V" in "CONTEXT""), or nil.
    public func validation(context: String) -> String? {
        for i in 1..<7 where Self.invalid(field: i, fields[i]) {
            return "invalid \(Self.fieldNames[i]) field \"\(fields[i])\" in \"\(context)\""
        }
        return nil
    }

    /// The seven fields and the command in stock's columns.
    func columns() -> String {
        let columns = [0, 11, 17, 25, 33, 41, 49, 57]
        var line = ""
        for (i, cell) in (fields + [command]).enumerated() {
            if i > 0 { line += String(repeating: " ", count: max(1, columns[i] - line.utf8.count)) }
            line += cell
        }
        return line
    }

    /// The entry on one line, as `postconf -M` shows it ("-oX" as "-o X").
    public func line() -> String {
        ([columns()] + arguments.map { argument -> String in
            switch argument {
            case .parameter(let name, let value): return "-o " + name + (value.map { "=" + $0 } ?? "")
            case .flag(let w), .word(let w): return w
            }
        }).joined(separator: " ")
    }

    /// The entry's text as stock writes an edited entry.
    public func text() -> String {
        var lines: [String] = []
        var line = columns()
        var afterParameter = false
        for argument in arguments {
            switch argument {
            case .parameter(let name, let value):
                lines.append(line)
                line = "    -o " + name + (value.map { "=" + $0 } ?? "")
                afterParameter = true
            case .flag(let w), .word(let w):
                if afterParameter || line.utf8.count + 1 + w.utf8.count > 79 {
                    lines.append(line)
                    line = "    " + w
                } else {
                    line += " " + w
                }
                afterParameter = false
            }
        }
        lines.append(line)
        return lines.map { $0 + "\n" }.joined()
    }
}
