// FeedbackSetting: a concurrency feedback parameter
// (`<transport>_destination_concurrency_{positive,negative}_feedback`) and the
// amount it adds or removes per delivery. Guarantees: accepts what stock's
// qmgr_feedback_init accepts — a number ("1", "0.5"), "N/concurrency" (any
// case: N divided by the current window) or "N/D" — with stock's leniencies
// (text after a bare number is ignored) and stock's rejections; a value
// outside [0, 1] or malformed gives stock's warning and the value 1.
import Glibc

public struct FeedbackSetting: Equatable, Sendable {
    public enum Kind: Int, Sendable { case constant = 0, perWindow = 1 }
    /// Stock's feedback "type" number in debug lines: 0 constant, 1 per window.
    public let kind: Kind
    public let base: Double

    public init(kind: Kind, base: Double) {
        self.kind = kind
        self.base = base
    }

    /// The feedback for one delivery when the destination's window is `window`.
    public func value(window: Int) -> Double {
        kind == .constant ? base : base / Double(window)
    }

    /// Parses `text`; nil when stock would warn and fall back to 1.
    public static func parse(_ text: String) -> FeedbackSetting? {
        let bytes = Array(text.utf8)
        guard let (numerator, afterNumber) = leadingDouble(bytes, from: 0) else { return nil }
        var i = skipSpace(bytes, from: afterNumber)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "/") else {
            return checked(FeedbackSetting(kind: .constant, base: numerator))
        }
        i = skipSpace(bytes, from: i + 1)
        var end = i
        while end < bytes.count, !isSpace(bytes[end]), end - i < 30 { end += 1 }
        // sscanf's trailing %c: anything after the denominator word is an error.
        guard end > i, end == bytes.count else { return nil }
        let word = String(decoding: bytes[i..<end], as: UTF8.self)
        if equalsIgnoringCase(word, "concurrency") {
            return checked(FeedbackSetting(kind: .perWindow, base: numerator))
        }
        let intMax = Double(Int32.max)
        guard numerator >= 0, numerator <= intMax,
              let (denominator, used) = leadingDouble(Array(word.utf8), from: 0), used == word.utf8.count,
              denominator >= 1 / intMax, denominator <= intMax else { return nil }
        return checked(FeedbackSetting(kind: .constant, base: numerator / denominator))
    }

    private static func checked(_ setting: FeedbackSetting) -> FeedbackSetting? {
        setting.base >= 0 && setting.base <= 1 ? setting : nil
    }

    /// strtod(3) from `start`: the value and the index after it, nil when no number.
    private static func leadingDouble(_ bytes: [UInt8], from start: Int) -> (Double, Int)? {
        let text = bytes[start...] + [0]
        return text.withUnsafeBufferPointer { buffer -> (Double, Int)? in
            guard let base = buffer.baseAddress else { return nil }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { chars in
                var end: UnsafeMutablePointer<CChar>?
                let value = strtod(chars, &end)
                guard let end, end != UnsafeMutablePointer(mutating: chars) else { return nil }
                return (value, start + (end - UnsafeMutablePointer(mutating: chars)))
            }
        }
    }

    private static func skipSpace(_ bytes: [UInt8], from start: Int) -> Int {
        var i = start
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        return i
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { lower($0) == lower($1) }
    }

    private static func lower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c }
}
