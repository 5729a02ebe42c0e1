// FixedWidth: the "%15ld" fields of SIZE, WARN and pointer records, which
// are written wide enough to be rewritten in place without moving a byte.

enum FixedWidth {
    static let width = 15

    /// printf("%15ld", value): right-aligned in 15 columns, wider when the
    /// number needs more.
    static func format(_ value: Int) -> [UInt8] {
        let digits = Array(String(value).utf8)
        if digits.count >= width { return digits }
        return [UInt8](repeating: 0x20, count: width - digits.count) + digits
    }

    /// The same, but refusing values that do not fit exactly `width` columns
    /// (for rewriting a field in place).
    static func formatExactly(_ value: Int) -> [UInt8]? {
        let text = format(value)
        return text.count == width ? text : nil
    }
}
