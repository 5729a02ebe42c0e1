// Expansion: postconf(5) "$name" macro expansion.
// Guarantees: supports $name, ${name}, $(name), $$, ${name?x}, ${name:x},
// the {}-braced operand forms, ${name?{a}:{b}}, relational ${{a} op {b}...}
// (numeric when both sides are all digits, else byte-wise), and the
// compatibility-level operators (<=level etc.). A substituted value is
// expanded again; only the chosen branch of a conditional is expanded.
// Undefined names expand to nothing. Any syntax problem or runaway nesting
// stops expansion with a MacroFailure carrying the stock warning text.

/// Why expansion stopped; `warning` is the text stock Postfix logs as a warning.
struct MacroFailure: Error, Equatable {
    let warning: String
}

/// Expands macros against a lookup that returns a parameter's raw value,
/// or nil when the parameter is undefined.
struct MacroExpander {
    typealias Lookup = (String) throws -> String?

    /// Stock refuses to go deeper than this many nested evaluations.
    static let maximumNesting = 100

    let lookup: Lookup

    func expand(_ text: String) throws -> String {
        var out: [UInt8] = []
        try expand(Array(text.utf8)[...], depth: 0, into: &out)
        return String(bytes: out)
    }

    // MARK: tokenising

    private enum Piece {
        case literal(ArraySlice<UInt8>)
        case expression(ArraySlice<UInt8>)
    }

    /// Splits text into literal runs and macro bodies ("name" of $name, the
    /// inside of ${...}). Only the bracket kind that opened a reference is
    /// counted when looking for its end.
    private func pieces(of text: ArraySlice<UInt8>) throws -> [Piece] {
        var result: [Piece] = []
        var literal: [UInt8] = []
        var i = text.startIndex
        let end = text.endIndex
        let dollar = UInt8(ascii: "$")
        func flushLiteral() {
            if !literal.isEmpty { result.append(.literal(literal[...])); literal = [] }
        }
        while i < end {
            let c = text[i]
            if c != dollar {
                literal.append(c); i += 1; continue
            }
            if i + 1 < end, text[i + 1] == dollar {
                literal.append(dollar); i += 2; continue
            }
            flushLiteral()
            i += 1
            var body: ArraySlice<UInt8>
            if i < end, text[i] == UInt8(ascii: "{") || text[i] == UInt8(ascii: "(") {
                let open = text[i]
                let close = open == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: ")")
                var level = 1
                var j = i + 1
                while level > 0 {
                    guard j < end else {
                        throw MacroFailure(warning: "truncated macro reference: \"\(String(bytes: text))\"")
                    }
                    if text[j] == open { level += 1 }
                    if text[j] == close { level -= 1 }
                    j += 1
                }
                body = text[(i + 1)..<(j - 1)]
                i = j
            } else {
                var j = i
                while j < end, isNameByte(text[j]) { j += 1 }
                body = text[i..<j]
                i = j
            }
            if body.isEmpty {
                throw MacroFailure(warning: "empty macro name: \"\(String(bytes: text))\"")
            }
            result.append(.expression(body))
        }
        flushLiteral()
        return result
    }

    // MARK: evaluation

    private func expand(_ text: ArraySlice<UInt8>, depth: Int, into out: inout [UInt8]) throws {
        for piece in try pieces(of: text) {
            switch piece {
            case .literal(let bytes):
                try checkNesting(depth, bytes)
                out.append(contentsOf: bytes)
            case .expression(let body):
                try checkNesting(depth, body)
                try evaluate(body, depth: depth, into: &out)
            }
        }
    }

    private func checkNesting(_ depth: Int, _ bytes: ArraySlice<UInt8>) throws {
        if depth > Self.maximumNesting {
            throw MacroFailure(warning: "unreasonable macro call nesting: \"\(String(bytes: bytes))\"")
        }
    }

    /// Evaluates one macro body: a name or relational test, optionally
    /// followed by "?" / ":" result operands.
    private func evaluate(_ body: ArraySlice<UInt8>, depth: Int, into out: inout [UInt8]) throws {
        var cursor = Cursor(body)
        let test: Test
        if cursor.peekAfterSpace() == UInt8(ascii: "{") {
            cursor.skipSpace()
            test = try relationalTest(&cursor, depth: depth)
        } else {
            test = try namedTest(&cursor)
        }
        switch test.operatorByte {
        case nil:
            // Plain reference: substitute and expand the substituted text.
            if let value = test.value, !value.isEmpty {
                try expand(Array(value.utf8)[...], depth: depth + 1, into: &out)
            }
        case UInt8(ascii: "?")?:
            try conditional(&cursor, test: test, depth: depth, into: &out)
        default:
            try otherwise(&cursor, test: test, depth: depth, into: &out)
        }
    }

    /// Outcome of the test part: the looked-up (or relational) value and the
    /// "?" / ":" that followed it, if any.
    private struct Test {
        var value: String?
        var operatorByte: UInt8?
        var isNonEmpty: Bool { !(value ?? "").isEmpty }
    }

    private func namedTest(_ cursor: inout Cursor) throws -> Test {
        cursor.skipSpace()
        let nameStart = cursor.index
        while true {
            let next = cursor.peekAfterSpace()
            if next == nil {
                let name = String(bytes: cursor.bytes[nameStart..<cursor.index])
                cursor.skipSpace()
                return Test(value: try lookup(name), operatorByte: nil)
            }
            if next == UInt8(ascii: "?") || next == UInt8(ascii: ":") {
                let name = String(bytes: cursor.bytes[nameStart..<cursor.index])
                cursor.skipSpace()
                cursor.advance()
                return Test(value: try lookup(name), operatorByte: next)
            }
            guard let c = cursor.current, isNameByte(c) else {
                let before = String(bytes: cursor.bytes[cursor.bytes.startIndex..<cursor.index])
                throw MacroFailure(warning:
                    "attribute name syntax error at: \"...\(before)>>>\(cursor.preview)\"")
            }
            cursor.advance()
        }
    }

    private func relationalTest(_ cursor: inout Cursor, depth: Int) throws -> Test {
        let left = try cursor.curlyPayload()
        let operatorPreview = cursor.preview
        let opBytes = cursor.takeWhile { Self.operatorChars.contains($0) }
        guard let op = RelationalOperator(String(bytes: opBytes)) else {
            throw MacroFailure(warning:
                "\(RelationalOperator.anyText) expected at: \"...\(String(bytes: left))}>>>\(operatorPreview)\"")
        }
        var compareLevels = false
        if let c = cursor.current, isAlnumByte(c) {
            let suffixStart = cursor.index
            let suffix = cursor.takeWhile(isAlnumByte)
            guard String(bytes: suffix) == "level" else {
                throw MacroFailure(warning:
                    "bad operator suffix at: \"...\(String(bytes: opBytes))>>>\(String(bytes: cursor.bytes[suffixStart..<cursor.index]))\"")
            }
            compareLevels = true
        }
        guard cursor.peekAfterSpace() == UInt8(ascii: "{") else {
            throw MacroFailure(warning:
                "\"{expression}\" expected at: \"...{\(String(bytes: left))} \(String(bytes: opBytes))>>>\(cursor.preview)\"")
        }
        cursor.skipSpace()
        let right = try cursor.curlyPayload()
        let l = try expandNested(left, depth: depth), r = try expandNested(right, depth: depth)
        let truth = compareLevels
            ? try op.compareLevels(l, r)
            : try op.compare(l, r)
        var test = Test(value: truth ? "true" : "", operatorByte: nil)
        if let c = cursor.current {
            guard c == UInt8(ascii: "?") || c == UInt8(ascii: ":") else {
                throw MacroFailure(warning: "\"?\" or \":\" expected at: \"...}>>>\(cursor.preview)\"")
            }
            cursor.advance()
            test.operatorByte = c
        }
        return test
    }

    /// Relational operands are expanded into a fresh buffer, like stock, but
    /// one level deeper rather than from level 0 as stock does: a parameter
    /// whose value compares itself ("b = ${{$b} == {x}}") then hits the
    /// nesting limit, where stock recurses until its stack overflows.
    private func expandNested(_ bytes: ArraySlice<UInt8>, depth: Int) throws -> String {
        var out: [UInt8] = []
        try expand(bytes, depth: depth + 1, into: &out)
        return String(bytes: out)
    }

    private static let operatorChars: Set<UInt8> = Set("<>!=?+-*/~&|%".utf8)

    /// "?" branch, possibly followed by a ":" branch (ternary form).
    private func conditional(_ cursor: inout Cursor, test: Test, depth: Int, into out: inout [UInt8]) throws {
        let operand = try resultOperand(&cursor)
        if test.isNonEmpty {
            try expand(operand, depth: depth + 1, into: &out)
        }
        guard let c = cursor.current else { return }
        guard c == UInt8(ascii: ":") else {
            throw MacroFailure(warning: "\":\" expected at: \"...\(String(bytes: operand))}>>>\(cursor.preview)\"")
        }
        cursor.advance()
        try otherwise(&cursor, test: test, depth: depth, into: &out)
    }

    /// ":" branch: used when the test value is undefined or empty.
    private func otherwise(_ cursor: inout Cursor, test: Test, depth: Int, into out: inout [UInt8]) throws {
        let operand = try resultOperand(&cursor)
        if !test.isNonEmpty {
            try expand(operand, depth: depth + 1, into: &out)
        }
        if cursor.current != nil {
            throw MacroFailure(warning: "unexpected input at: \"...\(String(bytes: operand))}>>>\(cursor.preview)\"")
        }
    }

    /// A result operand is either "{...}" (surrounding whitespace ignored) or,
    /// for Postfix 2.x compatibility, all remaining text taken literally.
    private func resultOperand(_ cursor: inout Cursor) throws -> ArraySlice<UInt8> {
        if cursor.peekAfterSpace() == UInt8(ascii: "{") {
            cursor.skipSpace()
            return try cursor.curlyPayload()
        }
        return cursor.takeRest()
    }
}

/// A read position inside a macro body.
private struct Cursor {
    let bytes: ArraySlice<UInt8>
    var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var current: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

    /// Up to 20 bytes from the current position, as stock diagnostics show.
    var preview: String { String(bytes: bytes[index...].prefix(20)) }

    mutating func advance() { index += 1 }

    mutating func skipSpace() {
        while let c = current, isSpaceByte(c) { index += 1 }
    }

    func peekAfterSpace() -> UInt8? {
        var j = index
        while j < bytes.endIndex, isSpaceByte(bytes[j]) { j += 1 }
        return j < bytes.endIndex ? bytes[j] : nil
    }

    mutating func takeWhile(_ predicate: (UInt8) -> Bool) -> ArraySlice<UInt8> {
        let start = index
        while let c = current, predicate(c) { index += 1 }
        return bytes[start..<index]
    }

    mutating func takeRest() -> ArraySlice<UInt8> {
        defer { index = bytes.endIndex }
        return bytes[index...]
    }

    /// At "{": returns the balanced payload and skips whitespace after "}".
    mutating func curlyPayload() throws -> ArraySlice<UInt8> {
        let open = index
        var level = 1
        var j = index + 1
        while true {
            guard j < bytes.endIndex else {
                throw MacroFailure(warning:
                    "unbalanced {} in attribute expression: \"\(String(bytes: bytes[open...]))\"")
            }
            if bytes[j] == UInt8(ascii: "{") { level += 1 }
            if bytes[j] == UInt8(ascii: "}") {
                level -= 1
                if level == 0 { break }
            }
            j += 1
        }
        let payload = bytes[(open + 1)..<j]
        index = j + 1
        skipSpace()
        return payload
    }
}
