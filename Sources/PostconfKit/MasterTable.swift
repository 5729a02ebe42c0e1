// MasterTable: master.cf as postconf prints it (-M, -F, -P).
// Guarantees: entries in file order with the eight fields exactly as written
// and the command words split on whitespace; comments and blank lines
// ignored; "-o name=value" (also "-o" "name=value") pairs extracted per entry.

import PostfixConfig

public struct MasterTableEntry: Equatable, Sendable {
    public let fields: [String]       // 8 fields, as written
    public let words: [String]        // command and its arguments
    public var name: String { fields[0] }
    public var type: String { fields[1] }

    /// Leading "-o name=value" settings (stock stops at the first
    /// non-option word): each name once, where it first appears, with its last value.
    public var parameters: [(String, String)] {
        var order: [String] = []
        var values: [String: String] = [:]
        for case let .parameter(name, value) in MasterEntryText.arguments(Array(words.dropFirst())) {
            if values[name] == nil { order.append(name) }
            values[name] = value ?? ""
        }
        return order.map { ($0, values[$0] ?? "") }
    }

    /// The command and its arguments as stock shows them ("-oX" as "-o X").
    public var normalizedCommand: String {
        var shown = Array(words.prefix(1))
        for argument in MasterEntryText.arguments(Array(words.dropFirst())) {
            switch argument {
            case .parameter(let name, let value): shown += ["-o", name + (value.map { "=" + $0 } ?? "")]
            case .flag(let w), .word(let w): shown.append(w)
            }
        }
        return shown.joined(separator: " ")
    }
}

public enum MasterTableError: Error, CustomStringConvertible, Equatable {
    case tooFewFields(path: String, line: Int)
    public var description: String {
        switch self {
        case let .tooFewFields(path, line): return "file \(path): line \(line): bad field count"
        }
    }
}

public enum MasterTable {
    public static func parse(_ text: String, path: String) throws -> [MasterTableEntry] {
        var entries: [MasterTableEntry] = []
        for line in LogicalLines.split(text, path: path, warn: { _ in }) {
            let words = splitWords(line.text)
            guard words.count >= 8 else { throw MasterTableError.tooFewFields(path: path, line: line.number) }
            entries.append(MasterTableEntry(fields: Array(words[0..<7]) + [words[7]],
                                            words: Array(words[7...])))
        }
        return entries
    }

    /// Does "name", "name/type" (either may be "*") select this entry?
    public static func matches(_ entry: MasterTableEntry, pattern: String) -> Bool {
        matches(name: entry.name, type: entry.type, pattern: pattern)
    }

    public static func matches(name: String, type: String, pattern: String) -> Bool {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first else { return false }
        if first != "*" && first != name { return false }
        if parts.count >= 2 && parts[1] != "*" && parts[1] != type { return false }
        return true
    }

    /// One -M line: fields padded to stock's columns, then the command words.
    public static func formatEntry(_ entry: MasterTableEntry) -> String {
        let columns = [0, 11, 17, 25, 33, 41, 49, 57]
        var line = ""
        var width = 0
        let cells = Array(entry.fields[0..<7]) + [entry.normalizedCommand]
        for (index, cell) in cells.enumerated() {
            if index > 0 {
                let pad = max(1, columns[index] - width)
                line += String(repeating: " ", count: pad)
                width += pad
            }
            line += cell
            width += cell.utf8.count
        }
        return line
    }

    static let fieldNames = ["service", "type", "private", "unprivileged", "chroot",
                             "wakeup", "process_limit", "command"]

    /// The -F lines of one entry.
    public static func fieldLines(_ entry: MasterTableEntry) -> [String] {
        fieldNames.indices.map { i in
            let value = i == 7 ? entry.normalizedCommand : entry.fields[i]
            return "\(entry.name)/\(entry.type)/\(fieldNames[i]) = \(value)"
        }
    }

    /// The -P lines of one entry.
    public static func parameterLines(_ entry: MasterTableEntry) -> [String] {
        entry.parameters.map { "\(entry.name)/\(entry.type)/\($0.0) = \($0.1)" }
    }
}

func splitWords(_ text: String) -> [String] {
    text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
}

func trim(_ s: String) -> String {
    let bytes = Array(s.utf8)
    guard let a = bytes.firstIndex(where: { !isSpace($0) }),
          let b = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
    return String(decoding: bytes[a...b], as: UTF8.self)
}
