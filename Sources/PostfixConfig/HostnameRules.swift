// HostnameRules: syntactic checks for host names and numeric addresses.
// Guarantees: the same acceptance rules as Postfix's valid_hostname()
// (ASCII letters, digits, "_" and inner "-", labels <= 63, total <= 255,
// not all-numeric) and valid_hostaddr() (dotted quad with exactly four parts,
// no "0.x.y.z" except 0.0.0.0; IPv6 when the text contains ":").

#if canImport(Glibc)
import Glibc
#endif

enum HostnameRules {
    static func isValidHostname(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        var labelLength = 0
        var nonNumeric = false
        for (i, c) in bytes.enumerated() {
            let next: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
            if isAlnumByte(c) || c == UInt8(ascii: "_") {
                labelLength += 1
                if labelLength > 63 { return false }
                if !isDigitByte(c) { nonNumeric = true }
            } else if c == UInt8(ascii: ".") {
                if labelLength == 0 || next == nil { return false }
                labelLength = 0
            } else if c == UInt8(ascii: "-") {
                nonNumeric = true
                labelLength += 1
                if labelLength == 1 || next == nil || next == UInt8(ascii: ".") { return false }
            } else {
                return false
            }
        }
        return nonNumeric
    }

    static func isValidAddress(_ text: String) -> Bool {
        if text.isEmpty { return false }
        return text.contains(":") ? isValidIPv6(text) : isValidIPv4(text)
    }

    static func isValidIPv4(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var inByte = false, byteCount = 0, byteValue = 0
        for (i, c) in bytes.enumerated() {
            if isDigitByte(c) {
                if !inByte { inByte = true; byteValue = 0; byteCount += 1 }
                byteValue = byteValue * 10 + Int(c - 0x30)
                if byteValue > 255 { return false }
            } else if c == UInt8(ascii: ".") {
                if !inByte || i + 1 == bytes.count { return false }
                // Allow 0.0.0.0 but not 0.1.2.3.
                if byteCount == 1 && byteValue == 0 && !bytes.allSatisfy({ $0 == 0x30 || $0 == 0x2E }) {
                    return false
                }
                inByte = false
            } else {
                return false
            }
        }
        return byteCount == 4
    }

    static func isValidIPv6(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET6, text, &storage) == 1
    }
}
