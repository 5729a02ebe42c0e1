// BracedText: text in "{...}" as Postfix table names use it ("static:{ a
// value }", "regexp:{{/a/ x}, {/b/ y}}", "unionmap:{hash:/a, cidr:/b}"):
// the text inside balanced braces, and stock's complaints about text that
// is not (its extpar/balpar texts, word for word, so that an error names
// the table as stock's does).
// Guarantees: never traps; a result is either the inside text or an error.

enum BracedText {
    /// The length of the balanced "{...}" that `text` starts with (both
    /// braces counted), or nil when it does not start with "{" or never closes.
    static func balancedLength(_ text: ArraySlice<UInt8>) -> Int? {
        guard text.first == UInt8(ascii: "{") else { return nil }
        var level = 0
        for (offset, byte) in text.enumerated() {
            if byte == UInt8(ascii: "{") {
                level += 1
            } else if byte == UInt8(ascii: "}") {
                level -= 1
                if level == 0 { return offset + 1 }
            }
        }
        return nil
    }

    /// The text inside the braces `text` consists of, white space around
    /// it removed when `strip`; the error stock's extpar gives otherwise.
    static func inside(_ text: ArraySlice<UInt8>, strip: Bool) -> Result<ArraySlice<UInt8>, BracedTextError> {
        let shown = CText.string(text)
        guard text.first == UInt8(ascii: "{") else {
            return .failure(BracedTextError(description: "no '{' at start of text in \"\(shown)\""))
        }
        guard let length = balancedLength(text) else {
            return .failure(BracedTextError(description: "missing '}' in \"\(shown)\""))
        }
        guard length == text.count else {
            return .failure(BracedTextError(description: "syntax error after '}' in \"\(shown)\""))
        }
        let inner = text.dropFirst().dropLast()
        return .success(strip ? CText.skippingSpace(CText.trimmed(inner)) : inner)
    }

    /// Items separated by commas and white space, a separator inside
    /// balanced braces belonging to its item (stock's mystrtokq).
    static func items(_ text: ArraySlice<UInt8>) -> [[UInt8]] {
        DomainList.split(Array(text))
    }
}

struct BracedTextError: Error, Equatable, CustomStringConvertible {
    let description: String
}
