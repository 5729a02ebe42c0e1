// PrintableText.swift - log text made printable as stock Postfix makes
// every record printable before it is written (msg_output): a byte that is
// not printable ASCII becomes "?", except, when UTF-8 is enabled
// (smtputf8_enable, on by default), a lead byte 0xC2-0xFE followed by
// continuation bytes 0x80-0xBF, which is kept with all of them (stock's
// check is this loose one, not full UTF-8 validation). So a tab, a newline
// or a stray byte in a logged address cannot split or garble a log line.
// Guarantees: never traps; text that is printable ASCII already is returned
// as it is, without a copy.

public enum PrintableText {
    /// `text` made printable; `utf8`: whether UTF-8 characters are kept.
    public static func text(_ text: String, utf8: Bool) -> String {
        guard text.utf8.contains(where: { !isPrintableASCII($0) }) else { return text }
        return String(decoding: bytes(Array(text.utf8), utf8: utf8), as: UTF8.self)
    }

    /// `bytes` made printable; `utf8`: whether UTF-8 characters are kept.
    public static func bytes(_ bytes: [UInt8], utf8: Bool) -> [UInt8] {
        var out = bytes
        var at = 0
        while at < out.count {
            let byte = out[at]
            if isPrintableASCII(byte) {
                at += 1
            } else if utf8, (0xC2...0xFE).contains(byte), at + 1 < out.count, isContinuation(out[at + 1]) {
                at += 1
                while at < out.count && isContinuation(out[at]) { at += 1 }
            } else {
                out[at] = UInt8(ascii: "?")
                at += 1
            }
        }
        return out
    }

    private static func isPrintableASCII(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F }
    private static func isContinuation(_ byte: UInt8) -> Bool { byte >= 0x80 && byte < 0xC0 }
}
