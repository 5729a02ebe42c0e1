// CText: bytes as Postfix's C code sees them: its ctype macros (ISSPACE,
// ISALNUM, ISDIGIT: ASCII only, whatever the locale), strings that end at
// the first NUL, trimblanks, atoi. Shared by the table parsers.
// Guarantees: never traps on any bytes.
#if canImport(Glibc)
import Glibc
#endif

/// Byte classes and C-string views as Postfix's ctype macros (ISSPACE,
/// ISALNUM, ISDIGIT: ASCII only, whatever the locale) see them.
enum CText {
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    static func isAlnum(_ byte: UInt8) -> Bool {
        isDigit(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    /// The bytes before the first NUL: what a C function sees of them.
    static func cString<C: Collection>(_ bytes: C) -> C.SubSequence where C.Element == UInt8 {
        bytes.prefix { $0 != 0 }
    }

    /// `text` without trailing white space (trimblanks).
    static func trimmed(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var end = text.endIndex
        while end > text.startIndex && isSpace(text[end - 1]) { end -= 1 }
        return text[text.startIndex..<end]
    }

    /// `text` without leading white space.
    static func skippingSpace(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        text.drop { isSpace($0) }
    }

    /// Whether `text` starts with the ASCII word `word` (any case) not followed by a letter or digit.
    static func startsWithWord(_ text: ArraySlice<UInt8>, _ word: String) -> Bool {
        let w = Array(word.utf8)
        guard text.count >= w.count else { return false }
        for (a, b) in zip(text, w) where a | 0x20 != b | 0x20 { return false }
        let after = text.dropFirst(w.count).first
        return after.map { !isAlnum($0) } ?? true
    }

    /// As stock's atoi(3) reads `digits` (an int, wrapped as C's conversion wraps it).
    static func atoi<C: Collection>(_ digits: C) -> Int32 where C.Element == UInt8 {
        let text = Array(cString(digits)) + [0]
        return text.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { $0.baseAddress.map { Glibc.atoi($0) } ?? 0 }
        }
    }

    static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes, as: UTF8.self)
    }
}
