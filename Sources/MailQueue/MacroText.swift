// MacroText: text with "$name", "${name}" and "$(name)" references, split
// as Postfix's mac_parse(3) splits it (a regexp table's result text, where
// the names are subexpression numbers): "$$" stands for "$"; a plain
// "$name" takes letters, digits and "_"; a braced name runs to the
// matching close (nested pairs of the same kind counted). A reference
// that never closes, or an empty name, ends the parse with stock's warning
// and an error; the text after it is dropped, as stock drops it.
// Guarantees: never traps; pieces come in text order.

enum MacroText {
    enum Piece: Equatable, Sendable {
        case literal([UInt8])
        case reference([UInt8])
    }

    struct Parsed: Equatable {
        var pieces: [Piece] = []
        /// The parse stopped at a malformed reference (`warning` says which).
        var failed = false
        var warning: String?
    }

    static func parse(_ text: ArraySlice<UInt8>) -> Parsed {
        var parsed = Parsed()
        var literal: [UInt8] = []
        var at = text.startIndex
        func byte(_ i: Int) -> UInt8? { i < text.endIndex ? text[i] : nil }
        func fail(_ why: String) {
            parsed.failed = true
            parsed.warning = "\(why): \"\(CText.string(text))\""
        }
        while at < text.endIndex {
            guard text[at] == UInt8(ascii: "$") else {
                literal.append(text[at])
                at += 1
                continue
            }
            if byte(at + 1) == UInt8(ascii: "$") {
                literal.append(UInt8(ascii: "$"))
                at += 2
                continue
            }
            if !literal.isEmpty { parsed.pieces.append(.literal(literal)) }
            literal = []
            at += 1
            let name: ArraySlice<UInt8>
            if let open = byte(at), let close = closing(open) {
                guard let end = matchingClose(text, from: at + 1, open: open, close: close) else {
                    fail("truncated macro reference")
                    return parsed
                }
                name = text[(at + 1)..<end]
                at = end + 1
            } else {
                let start = at
                while let b = byte(at), CText.isAlnum(b) || b == UInt8(ascii: "_") { at += 1 }
                name = text[start..<at]
            }
            guard !name.isEmpty else {
                fail("empty macro name")
                return parsed
            }
            parsed.pieces.append(.reference(Array(name)))
        }
        if !literal.isEmpty { parsed.pieces.append(.literal(literal)) }
        return parsed
    }

    private static func closing(_ open: UInt8) -> UInt8? {
        switch open {
        case UInt8(ascii: "{"): return UInt8(ascii: "}")
        case UInt8(ascii: "("): return UInt8(ascii: ")")
        default: return nil
        }
    }

    /// The index of the close that balances an open just before `from`.
    private static func matchingClose(_ text: ArraySlice<UInt8>, from: Int, open: UInt8, close: UInt8) -> Int? {
        var level = 1
        var at = from
        while at < text.endIndex {
            if text[at] == open { level += 1 }
            if text[at] == close {
                level -= 1
                if level == 0 { return at }
            }
            at += 1
        }
        return nil
    }
}
