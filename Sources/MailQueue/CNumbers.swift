// CNumbers: the number syntaxes Postfix's readers accept in queue files and
// attribute values (atol/atoi, alldig, strict unsigned decimal), written out
// so that our reader accepts and rejects the same text. Nothing here traps:
// overflow saturates (atol-like) or fails (strict), never wraps.

enum CNumbers {
    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// atol(3): optional leading white space, optional sign, digits; stops at
    /// the first other byte; 0 when there are no digits. Saturates on overflow
    /// (glibc's strtol does the same).
    static func atol<C: Collection>(_ text: C) -> Int where C.Element == UInt8 {
        var i = text.startIndex
        while i != text.endIndex, isSpace(text[i]) { i = text.index(after: i) }
        var negative = false
        if i != text.endIndex, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
            negative = text[i] == UInt8(ascii: "-")
            i = text.index(after: i)
        }
        var value = 0
        var saturated = false
        while i != text.endIndex, isDigit(text[i]) {
            if !saturated {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(text[i] - 0x30))
                if o1 || o2 { saturated = true } else { value = a }
            }
            i = text.index(after: i)
        }
        if saturated { return negative ? Int.min : Int.max }
        return negative ? -value : value
    }

    /// atoi(3) as glibc does it: atol truncated to 32 bits.
    static func atoi<C: Collection>(_ text: C) -> Int32 where C.Element == UInt8 {
        Int32(truncatingIfNeeded: atol(text))
    }

    /// Postfix's alldig(): non-empty and digits only.
    static func allDigits<C: Collection>(_ text: C) -> Bool where C.Element == UInt8 {
        !text.isEmpty && text.allSatisfy(isDigit)
    }

    /// Strict unsigned decimal: digits only, at least one, no sign, no space,
    /// value <= max. What attr0 receivers should accept for INT and LONG.
    static func unsignedDecimal<C: Collection>(_ text: C, max: UInt64) -> UInt64? where C.Element == UInt8 {
        guard !text.isEmpty else { return nil }
        var value: UInt64 = 0
        for c in text {
            guard isDigit(c) else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2, a <= max else { return nil }
            value = a
        }
        return value
    }

    /// sscanf(text, "%ld %ld ...") for `count` signed decimal fields: each
    /// field may be preceded by white space and a sign. Returns the fields
    /// converted before the first failure (as scanf's count does); a field
    /// outside Int's range ends the scan and is reported as `overflow`.
    static func scanLongs(_ text: [UInt8], count: Int) -> (values: [Int], overflow: Bool) {
        var values: [Int] = []
        var i = 0
        while values.count < count {
            while i < text.count, isSpace(text[i]) { i += 1 }
            var negative = false
            if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") {
                negative = text[i] == UInt8(ascii: "-")
                i += 1
            }
            let digitsStart = i
            var value = 0
            var overflow = false
            while i < text.count, isDigit(text[i]) {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(text[i] - 0x30))
                if o1 || o2 { overflow = true } else { value = a }
                i += 1
            }
            if i == digitsStart { break }
            if overflow { return (values, true) }
            values.append(negative ? -value : value)
        }
        return (values, false)
    }
}
