// RegexpTable: a Postfix regexp: table (regexp_table(5)), parsed from its
// logical lines and looked up as stock's dict_regexp does:
// - "/pattern/flags result": the first rule whose pattern matches the key
//   gives its result; any delimiter may stand for "/", and a backslash
//   keeps the next byte inside the pattern; "!/pattern/" matches when the
//   pattern does not; "/re1/!/re2/ result" needs re1 to match and re2 not;
// - flags toggle regcomp options from their defaults (extended syntax and
//   case-insensitive on, newline-sensitive off): "i" case, "x" extended
//   syntax, "m" newline-sensitivity;
// - the result may use "$N"/"${N}"/"$(N)" (the Nth subexpression's text,
//   empty when it took no part) and "$$"; N is checked against the
//   pattern's subexpression count when the table is read;
// - "if /pattern/flags" ... "endif" (nested, any case) skips the rules in
//   between when the pattern does not match the key; an "if" without
//   "endif" then ends the lookup.
// A bad rule is skipped with stock's warning (the rule's line number in
// it); nothing in a regexp table's text is fatal.
// Guarantees: never traps; the key is matched as given (a match list
// passes it case-folded already), up to a NUL; `warnings` are stock's
// texts in stock's order.
#if canImport(Glibc)
import Glibc
#endif
import PostfixText

public struct RegexpTable: Sendable, Equatable {
    /// The table's name as written after "regexp:" (a path, or "{...}" rules).
    public let name: String
    let rules: [Rule]

    struct Condition: Equatable, Sendable {
        let regex: PosixRegex
        let positive: Bool
    }

    struct MatchRule: Equatable, Sendable {
        let line: Int
        let first: Condition
        let second: Condition?
        let result: [MacroText.Piece]
        /// The largest subexpression number the result uses (0: none).
        let largestGroup: Int
    }

    enum Rule: Equatable, Sendable {
        case match(MatchRule)
        /// The index of the matching "endif", nil when there is none.
        case ifBlock(Condition, line: Int, endif: Int?)
        case endif
    }

    /// The table `name` made of `items` (the logical lines of `source`);
    /// rules stock skips are left out, with their warnings appended to `warnings`.
    init(name: String, items: [LogicalLineReader.Item], source: String, warnings: inout [String]) {
        self.name = name
        var parser = Parser(map: name)
        for item in items {
            switch item {
            case .line(let number, let text): parser.add(text, line: number)
            case .orphan(let text): parser.warnings.append(LogicalLineReader.orphanWarning(source: source, text: text))
            }
        }
        parser.finish()
        rules = parser.rules
        warnings += parser.warnings
    }

    /// The result for `key`, nil when no rule matches.
    public func lookup(_ key: [UInt8]) -> [UInt8]? {
        let key = Array(CText.cString(key))
        var index = 0
        while index < rules.count {
            defer { index += 1 }
            switch rules[index] {
            case .match(let rule):
                let groups = rule.largestGroup > 0 ? rule.largestGroup + 1 : 0
                guard case .found(let ranges) = Self.test(rule.first, key, groups: groups) else { continue }
                if let second = rule.second, Self.test(second, key, groups: 0) == .notFound { continue }
                return Self.expand(rule.result, key: key, ranges: ranges)
            case .ifBlock(let condition, _, let endif):
                if Self.test(condition, key, groups: 0) != .notFound { continue }
                guard let endif else { return nil }
                index = endif
            case .endif:
                continue
            }
        }
        return nil
    }

    private enum Test: Equatable {
        case found([Range<Int>?])
        case notFound
    }

    /// A condition's answer; a regexec failure answers "not found"
    /// whatever the negation (stock warns about it, and so skips the rule
    /// or, for "if", the block).
    private static func test(_ condition: Condition, _ key: [UInt8], groups: Int) -> Test {
        switch condition.regex.match(key, groups: groups) {
        case .matched(let ranges): return condition.positive ? .found(ranges) : .notFound
        case .noMatch: return condition.positive ? .notFound : .found([])
        case .failed: return .notFound
        }
    }

    private static func expand(_ pieces: [MacroText.Piece], key: [UInt8], ranges: [Range<Int>?]) -> [UInt8] {
        var out: [UInt8] = []
        for piece in pieces {
            switch piece {
            case .literal(let text):
                out += text
            case .reference(let digits):
                let n = Int(CText.atoi(digits))
                if n >= 0, n < ranges.count, let range = ranges[n], range.upperBound <= key.count { out += key[range] }
            }
        }
        return out
    }
}

// MARK: reading rules

extension RegexpTable {
    /// One pattern of a rule, before compilation.
    struct PatternText {
        var text: ArraySlice<UInt8>
        var flags: Int32
        var positive: Bool
    }

    struct Parser {
        let map: String
        var rules: [Rule] = []
        var warnings: [String] = []
        /// Indexes of the "if" rules not closed yet, innermost last.
        var open: [Int] = []

        init(map: String) { self.map = map }

        mutating func warn(_ line: Int, _ text: String) {
            warnings.append("regexp map \(map), line \(line): \(text)")
        }

        mutating func add(_ logical: [UInt8], line: Int) {
            let text = CText.trimmed(CText.cString(logical)[...])
            guard let lead = text.first else { return }
            if !CText.isAlnum(lead) {
                if let rule = matchRule(text, line: line) { rules.append(.match(rule)) }
            } else if CText.startsWithWord(text, "if") {
                if let condition = ifCondition(text.dropFirst(2), line: line) {
                    open.append(rules.count)
                    rules.append(.ifBlock(condition, line: line, endif: nil))
                }
            } else if CText.startsWithWord(text, "endif") {
                guard let opened = open.popLast() else {
                    warn(line, "ignoring ENDIF without matching IF")
                    return
                }
                if !CText.skippingSpace(text.dropFirst(5)).isEmpty { warn(line, "ignoring extra text after ENDIF") }
                if case .ifBlock(let condition, let ifLine, _) = rules[opened] {
                    rules[opened] = .ifBlock(condition, line: ifLine, endif: rules.count)
                }
                rules.append(.endif)
            } else {
                warn(line, "ignoring unrecognized request")
            }
        }

        /// Warns about each "if" left open, innermost first.
        mutating func finish() {
            for opened in open.reversed() {
                if case .ifBlock(_, let line, _) = rules[opened] { warn(line, "IF has no matching ENDIF") }
            }
            open = []
        }

        private mutating func matchRule(_ text: ArraySlice<UInt8>, line: Int) -> MatchRule? {
            var rest = text
            guard var first = pattern(&rest, line: line) else { return nil }
            var second: PatternText?
            if rest.first == UInt8(ascii: "!") {
                guard let parsed = pattern(&rest, line: line) else { return nil }
                second = parsed
            }
            let resultText = CText.skippingSpace(rest)
            if resultText.isEmpty { warn(line, "no replacement text: using empty string") }
            guard let (pieces, largest) = result(resultText, line: line) else {
                warn(line, "bad replacement syntax: skipping this rule")
                return nil
            }
            if largest == 0 { first.flags |= REG_NOSUB }
            if largest > 0 && !first.positive {
                warn(line, "$number found in negative match replacement text: skipping this rule")
                return nil
            }
            guard let firstRegex = compile(first, line: line) else { return nil }
            if largest > UInt(firstRegex.subexpressionCount) {
                warn(line, "out of range replacement index \"\(Int32(truncatingIfNeeded: largest))\": skipping this rule")
                return nil
            }
            var secondCondition: Condition?
            if var second {
                second.flags |= REG_NOSUB
                guard let regex = compile(second, line: line) else { return nil }
                secondCondition = Condition(regex: regex, positive: second.positive)
            }
            return MatchRule(line: line, first: Condition(regex: firstRegex, positive: first.positive),
                             second: secondCondition, result: pieces, largestGroup: Int(largest))
        }

        private mutating func ifCondition(_ afterIf: ArraySlice<UInt8>, line: Int) -> Condition? {
            var rest = CText.skippingSpace(afterIf)
            guard let parsed = pattern(&rest, line: line) else { return nil }
            let extra = CText.skippingSpace(rest)
            if !extra.isEmpty {
                warn(line, "ignoring extra text after IF statement: \"\(CText.string(extra))\"")
                warn(line, "do not prepend whitespace to statements between IF and ENDIF")
            }
            guard let regex = compile(parsed, line: line) else { return nil }
            return Condition(regex: regex, positive: parsed.positive)
        }

        /// Reads "!.../pattern/flags" from `rest`, leaving `rest` after the flags.
        private mutating func pattern(_ rest: inout ArraySlice<UInt8>, line: Int) -> PatternText? {
            var positive = true
            while let b = rest.first, b == UInt8(ascii: "!") || CText.isSpace(b) {
                if b == UInt8(ascii: "!") { positive.toggle() }
                rest = rest.dropFirst()
            }
            guard let delimiter = rest.first else {
                warn(line, "no regexp: skipping this rule")
                return nil
            }
            let start = rest.index(after: rest.startIndex)
            var at = start
            // A backslash keeps the next byte; one at the very end closes
            // the pattern as the delimiter would (stock stops there too).
            while at < rest.endIndex {
                if rest[at] == UInt8(ascii: "\\") {
                    if at + 1 >= rest.endIndex { break }
                    at += 1
                } else if rest[at] == delimiter {
                    break
                }
                at += 1
            }
            guard at < rest.endIndex else {
                warn(line, "no closing regexp delimiter \"\(CText.string([delimiter]))\": skipping this rule")
                return nil
            }
            var found = PatternText(text: rest[start..<at], flags: REG_EXTENDED | REG_ICASE, positive: positive)
            rest = rest[(at + 1)...]
            while let b = rest.first, !CText.isSpace(b), b != UInt8(ascii: "!") {
                switch b {
                case UInt8(ascii: "i"): found.flags ^= REG_ICASE
                case UInt8(ascii: "m"): found.flags ^= REG_NEWLINE
                case UInt8(ascii: "x"): found.flags ^= REG_EXTENDED
                default:
                    warn(line, "unknown regexp option \"\(CText.string([b]))\": skipping this rule")
                    return nil
                }
                rest = rest.dropFirst()
            }
            return found
        }

        /// The result's pieces and its largest "$N" (as stock's size_t, so
        /// a negative atoi is huge), nil when stock refuses the text.
        private mutating func result(_ text: ArraySlice<UInt8>, line: Int) -> ([MacroText.Piece], UInt)? {
            let parsed = MacroText.parse(text)
            var largest: UInt = 0
            var bad = parsed.failed
            for case .reference(let name) in parsed.pieces {
                guard !name.isEmpty, name.allSatisfy(CText.isDigit) else {
                    warn(line, "non-numeric replacement index \"\(CText.string(name))\"")
                    bad = true
                    continue
                }
                let n = UInt(bitPattern: Int(CText.atoi(name)))
                if n < 1 {
                    warn(line, "out-of-range replacement index \"\(CText.string(name))\"")
                    bad = true
                    continue
                }
                largest = max(largest, n)
            }
            if let warning = parsed.warning { warnings.append(warning) }
            return bad ? nil : (parsed.pieces, largest)
        }

        private mutating func compile(_ pattern: PatternText, line: Int) -> PosixRegex? {
            switch PosixRegex.compile(Array(pattern.text), flags: pattern.flags) {
            case .success(let regex): return regex
            case .failure(let error):
                warn(line, error.message)
                return nil
            }
        }
    }
}
