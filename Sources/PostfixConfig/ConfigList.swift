// ConfigList: splitting of list-valued parameters and master.cf arguments.
// Guarantees: separators are split outside balanced "{}" only; an element
// that starts with "{" must be one balanced group, which is returned with its
// braces removed and the whitespace just inside them trimmed; the two ways
// that can fail are reported with the stock texts.

/// Parses a list value like import_environment: comma/space separated,
/// `{ name=value with space }` as one element. Malformed groups are kept
/// as written (use MainConfig.list to get the error instead).
public func splitConfigList(_ value: String) -> [String] {
    BraceTokenizer.tokens(value, separators: listSeparators).map { token in
        (try? BraceGroup.strip(token).get()) ?? token
    }
}

/// ", \t\r\n": list elements may be separated by commas and/or blanks.
let listSeparators: Set<UInt8> = [0x2C, 0x20, 0x09, 0x0D, 0x0A]
/// " \t\r\n": master.cf fields and arguments.
let fieldSeparators: Set<UInt8> = [0x20, 0x09, 0x0D, 0x0A]

enum ConfigList {
    static func split(_ value: String) -> Result<[String], BraceGroup.Problem> {
        var items: [String] = []
        for token in BraceTokenizer.tokens(value, separators: listSeparators) {
            switch BraceGroup.strip(token) {
            case .success(let item): items.append(item)
            case .failure(let problem): return .failure(problem)
            }
        }
        return .success(items)
    }
}

enum BraceTokenizer {
    /// Tokens separated by `separators` that occur outside "{...}" nesting.
    static func tokens(_ text: String, separators: Set<UInt8>) -> [String] {
        let bytes = Array(text.utf8)
        var result: [String] = []
        var i = 0
        while i < bytes.count {
            while i < bytes.count, separators.contains(bytes[i]) { i += 1 }
            guard i < bytes.count else { break }
            let start = i
            var level = 0
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: "{") {
                    level += 1
                } else if level > 0 && c == UInt8(ascii: "}") {
                    level -= 1
                } else if level == 0 && separators.contains(c) {
                    break
                }
                i += 1
            }
            result.append(String(bytes: bytes[start..<i]))
        }
        return result
    }
}

enum BraceGroup {
    struct Problem: Error, Equatable {
        let text: String
    }

    /// A token not starting with "{" is returned unchanged; otherwise the
    /// group's content, trimmed. Errors: missing "}" / text after "}".
    static func strip(_ token: String) -> Result<String, Problem> {
        let bytes = Array(token.utf8)
        guard bytes.first == UInt8(ascii: "{") else { return .success(token) }
        guard let close = matchingClose(bytes) else {
            return .failure(Problem(text: "missing '}' in \"\(token)\""))
        }
        if close != bytes.count - 1 {
            return .failure(Problem(text: "syntax error after '}' in \"\(token)\""))
        }
        return .success(String(bytes: bytes[1..<close]).trimmingSpace)
    }

    /// Index of the "}" that balances the leading "{", if any.
    static func matchingClose(_ bytes: [UInt8]) -> Int? {
        var level = 0
        for (i, c) in bytes.enumerated() {
            if c == UInt8(ascii: "{") { level += 1 }
            if c == UInt8(ascii: "}") {
                level -= 1
                if level == 0 { return i }
            }
        }
        return nil
    }
}
