// QueueID: a validated queue file name in either of stock's two forms, and
// the key that decides its hashed subdirectory.
//
// Guarantees (Postfix 3.7 mail_queue.h and mail_queue_id_ok()):
// - a QueueID is 1..255 bytes of [A-Za-z0-9_] (the check stock applies to
//   every queue file and fast-flush log name);
// - short form = 5 upper-case hex digits of the microseconds + the inode in
//   upper-case hex; long form = seconds (base 52, at least 6 digits) +
//   microseconds (base 52, exactly 4) + "z" + inode (base 51), alphabet
//   without vowels, so the inode part never contains "z";
// - the long form is recognised as stock does: the last "z" sits at index
//   10 or later.

public struct QueueID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let text: String

    /// Longest valid name (VALID_HOSTNAME_LEN: flush logs share the check).
    public static let maximumLength = 255

    /// Accepts exactly what mail_queue_id_ok() accepts.
    public init?(_ text: String) {
        guard QueueID.isValid(text) else { return nil }
        self.text = text
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") }
    }

    public var description: String { text }
    public static func < (a: QueueID, b: QueueID) -> Bool { a.text < b.text }

    // MARK: forms

    /// The alphabet of long IDs: digit value = index.
    static let safeAlphabet = Array("0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz".utf8)
    static let longSecondsBase = 52, longSecondsWidth = 6
    static let longMicrosecondsBase = 52, longMicrosecondsWidth = 4
    static let longInodeBase = 51
    static let longSeparator = UInt8(ascii: "z")

    /// Index of the separator when this is a long ID.
    private var longSeparatorIndex: Int? {
        let bytes = Array(text.utf8)
        guard let z = bytes.lastIndex(of: QueueID.longSeparator),
              z >= QueueID.longSecondsWidth + QueueID.longMicrosecondsWidth else { return nil }
        return z
    }

    public var isLongForm: Bool { longSeparatorIndex != nil }

    /// A short ID as cleanup/postdrop make it: "%05X" of the microseconds, then "%lX" of the inode.
    public static func short(microseconds: Int, inode: UInt64) -> QueueID {
        let usec = upperHex(UInt64(UInt32(truncatingIfNeeded: microseconds)), minimumWidth: 5)
        return QueueID(uncheckedText: usec + upperHex(inode, minimumWidth: 0))
    }

    /// A long ID (enable_long_queue_ids = yes).
    public static func long(seconds: Int, microseconds: Int, inode: UInt64) -> QueueID {
        let sec = safeDigits(UInt64(truncatingIfNeeded: seconds), base: longSecondsBase, minimumWidth: longSecondsWidth)
        let usec = safeDigits(UInt64(truncatingIfNeeded: microseconds), base: longMicrosecondsBase,
                              minimumWidth: longMicrosecondsWidth)
        let ino = safeDigits(inode, base: longInodeBase, minimumWidth: 0)
        return QueueID(uncheckedText: sec + usec + "z" + ino)
    }

    private init(uncheckedText: String) { text = uncheckedText }

    /// The inode number the ID encodes: the base-51 text after the "z" (long
    /// form) or the hex digits after the first 5 characters (short form); nil
    /// when that part is empty, is not all digits of its base, or overflows.
    public var inode: UInt64? {
        let bytes = Array(text.utf8)
        if let z = longSeparatorIndex {
            return QueueID.decodeSafe(bytes[(z + 1)...], base: QueueID.longInodeBase)
        }
        guard bytes.count > 5 else { return nil }
        return QueueID.decodeHex(bytes[5...])
    }

    /// The string whose first characters name the hashed subdirectories: the
    /// ID itself (short form), or "%05X" of the decoded 4-character microsecond
    /// field before the "z" (long form; a field that does not decode counts as 0).
    public var hashKey: String {
        guard let z = longSeparatorIndex else { return text }
        let bytes = Array(text.utf8)
        let usec = QueueID.decodeSafe(bytes[(z - QueueID.longMicrosecondsWidth)..<z],
                                      base: QueueID.longMicrosecondsBase) ?? 0
        return QueueID.upperHex(UInt64(UInt32(truncatingIfNeeded: usec)), minimumWidth: 5)
    }

    // MARK: digits

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    static func upperHex(_ value: UInt64, minimumWidth: Int) -> String {
        var s = value == 0 ? "" : String(value, radix: 16, uppercase: true)
        if s.utf8.count < minimumWidth { s = String(repeating: "0", count: minimumWidth - s.utf8.count) + s }
        return s
    }

    /// safe_ultostr(): most significant digit first, left-padded with "0";
    /// zero with no padding is the empty string.
    static func safeDigits(_ value: UInt64, base: Int, minimumWidth: Int) -> String {
        var digits: [UInt8] = []
        var v = value
        while v != 0 {
            digits.append(safeAlphabet[Int(v % UInt64(base))])
            v /= UInt64(base)
        }
        while digits.count < minimumWidth { digits.append(UInt8(ascii: "0")) }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    /// safe_strtoul() used as stock does: every byte must be a digit of `base`,
    /// at least one digit, no overflow.
    static func decodeSafe(_ text: ArraySlice<UInt8>, base: Int) -> UInt64? {
        guard !text.isEmpty else { return nil }
        var value: UInt64 = 0
        for c in text {
            guard let d = safeAlphabet.firstIndex(of: c), d < base else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: UInt64(base))
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            value = a
        }
        return value
    }

    static func decodeHex(_ text: ArraySlice<UInt8>) -> UInt64? {
        guard !text.isEmpty else { return nil }
        var value: UInt64 = 0
        for c in text {
            let d: UInt64
            switch c {
            case 0x30...0x39: d = UInt64(c - 0x30)
            case 0x41...0x46: d = UInt64(c - 0x41 + 10)
            case 0x61...0x66: d = UInt64(c - 0x61 + 10)
            default: return nil
            }
            let (m, o1) = value.multipliedReportingOverflow(by: 16)
            guard !o1 else { return nil }
            value = m + d
        }
        return value
    }
}
