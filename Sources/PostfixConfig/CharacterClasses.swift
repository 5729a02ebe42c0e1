// Byte-level character classes shared by the parsers.
// Guarantees: the same ASCII-only classification as the C locale Postfix
// uses (ISSPACE, ISDIGIT, ISALNUM), so non-ASCII bytes are never "space".

@inline(__always) func isSpaceByte(_ c: UInt8) -> Bool {
    // ' ', \t, \n, \v, \f, \r
    c == 0x20 || (c >= 0x09 && c <= 0x0D)
}

/// The field / word separator set of master.cf and list splitting: " \t\r\n".
@inline(__always) func isBlankSeparator(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A
}

@inline(__always) func isDigitByte(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

@inline(__always) func isAlphaByte(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
}

@inline(__always) func isAlnumByte(_ c: UInt8) -> Bool { isDigitByte(c) || isAlphaByte(c) }

/// Characters allowed in a parameter name after `$`.
@inline(__always) func isNameByte(_ c: UInt8) -> Bool { isAlnumByte(c) || c == UInt8(ascii: "_") }

extension String {
    /// Builds a String from bytes (invalid UTF-8 is repaired, never trapped on).
    init<S: Collection>(bytes: S) where S.Element == UInt8 {
        self = String(decoding: bytes, as: UTF8.self)
    }

    var isAllDigits: Bool {
        !isEmpty && utf8.allSatisfy(isDigitByte)
    }

    /// ASCII case-insensitive equality (strcasecmp semantics for ASCII text).
    func equalsIgnoringCase(_ other: String) -> Bool {
        let a = Array(utf8), b = Array(other.utf8)
        guard a.count == b.count else { return false }
        for i in 0..<a.count where lowerASCII(a[i]) != lowerASCII(b[i]) { return false }
        return true
    }

    var lowercasedASCII: String { String(bytes: utf8.map(lowerASCII)) }

    /// Leading/trailing whitespace removed (ISSPACE set).
    var trimmingSpace: String {
        let bytes = Array(utf8)
        var lo = 0, hi = bytes.count
        while lo < hi && isSpaceByte(bytes[lo]) { lo += 1 }
        while hi > lo && isSpaceByte(bytes[hi - 1]) { hi -= 1 }
        return String(bytes: bytes[lo..<hi])
    }
}

@inline(__always) func lowerASCII(_ c: UInt8) -> UInt8 {
    (c >= 0x41 && c <= 0x5A) ? c + 32 : c
}

/// C `atoi` on a string: optional leading space and sign, then digits; junk ignored.
func cAtoi(_ s: String) -> Int {
    var it = Array(s.utf8)[...]
    while let c = it.first, isSpaceByte(c) { it = it.dropFirst() }
    var negative = false
    if let c = it.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
        negative = c == UInt8(ascii: "-")
        it = it.dropFirst()
    }
    var value = 0
    for c in it {
        guard isDigitByte(c) else { break }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))
        if o1 || o2 { value = Int(Int32.max); break }
        value = a
    }
    // atoi returns an int; clamp like the common glibc behaviour for huge input.
    value = min(value, Int(Int32.max))
    return negative ? -value : value
}

/// C `strtol(s, &end, 10)` restricted to what the config code needs.
/// Returns nil when nothing was converted or on overflow; `rest` is what follows.
func cStrtol(_ s: String) -> (value: Int, rest: Substring.UTF8View)? {
    let text = Substring(s)
    var idx = text.utf8.startIndex
    let end = text.utf8.endIndex
    while idx < end, isSpaceByte(text.utf8[idx]) { idx = text.utf8.index(after: idx) }
    var negative = false
    if idx < end, text.utf8[idx] == UInt8(ascii: "-") || text.utf8[idx] == UInt8(ascii: "+") {
        negative = text.utf8[idx] == UInt8(ascii: "-")
        idx = text.utf8.index(after: idx)
    }
    var value = 0
    var digits = 0
    while idx < end, isDigitByte(text.utf8[idx]) {
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int(text.utf8[idx] - 0x30))
        if o1 || o2 { return nil }
        value = a
        digits += 1
        idx = text.utf8.index(after: idx)
    }
    guard digits > 0 else { return nil }
    return (negative ? -value : value, text.utf8[idx...])
}
