// BooleanValue.swift - a main.cf boolean as stock reads one: "yes" or "no",
// in any ASCII case. Anything else is not a boolean; the caller decides
// whether that is fatal (for stock it always is: "bad boolean configuration").
// Guarantees: never traps; no locale or Unicode case mapping is involved.

public enum BooleanValue {
    /// true for "yes", false for "no" (ASCII case ignored), nil otherwise.
    public static func parse(_ text: String) -> Bool? {
        if matches(text, "yes") { return true }
        if matches(text, "no") { return false }
        return nil
    }

    private static func matches(_ text: String, _ word: StaticString) -> Bool {
        let bytes = text.utf8
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { lower($0) == $1 }
        }
    }

    private static func lower(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte + 32 : byte }
}
