// MasterTable: master.cf as postconf reads it for its queries (-M, -F, -P,
// and the per-service parameters of main.cf queries).
// Guarantees: entries in file order with the eight fields exactly as written
// and the command words split on whitespace; comments and blank lines
// ignored; an entry with fewer than eight fields, or a field value stock
// refuses (MasterEntryText.validation), is an error worded as stock's;
// "-o name=value" (also "-o" "name=value") pairs extracted per entry.

import PostfixConfig

public struct MasterTableEntry: Equatable, Sendable {
    public let fields: [String]       // 8 fields, as written
    public let words: [String]        // command and its arguments
    public var name: String { fields[0] }
    public var type: String { fields[1] }

    /// Leading "-o name=value" settings (stock stops at the first
    /// non-option word; "-o name" without "=" sets nothing): each name once,
    /// where it first appears, with its last value.
    public var parameters: [(String, String)] {
        var order: [String] = []
        var values: [String: String] = [:]
        for case let .parameter(name, value?) in MasterEntryText.arguments(Array(words.dropFirst())) where !name.isEmpty {
            if values[name] == nil { order.append(name) }
            values[name] = value
        }
        return order.map { ($0, values[$0] ?? "") }
    }
}

public enum MasterTableError: Error, CustomStringConvertible, Equatable {
    case tooFewFields(path: String, line: Int)
    case invalidField(String)
    public var description: String {
        switch self {
        case let .tooFewFields(path, line): return "file \(path): line \(line): bad field count"
        case let .invalidField(problem): return problem
        }
    }
}

public enum MasterTable {
    public static func parse(_ text: String, path: String) throws -> [MasterTableEntry] {
        var entries: [MasterTableEntry] = []
        for line in LogicalLines.split(text, path: path, warn: { _ in }) {
            let words = splitWords(line.text)
            guard words.count >= 8 else { throw MasterTableError.tooFewFields(path: path, line: line.number) }
            if let problem = MasterEntryText(words: words)?.validation(context: line.text) {
                throw MasterTableError.invalidField(problem)
            }
            entries.append(MasterTableEntry(fields: Array(words[0..<7]) + [words[7]],
                                            words: Array(words[7...])))
        }
        return entries
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
