// FlushLogName.swift - a destination's fast-flush log name, as stock names
// it: the site in ASCII form (case folded), checked as a host name, with
// every character that is not a letter or digit replaced by "_"
// ("Example.COM" -> "example_com").
// Stock converts the site with UTS #46 (libicu) first; so does this plugin
// when libicu could be loaded (IDNA), else a site with non-ASCII bytes has
// no log name (the service answers DENY, as stock does for a name it cannot
// convert, and logs it).
// Guarantees: a name returned is a valid queue file name (1..255 bytes of
// letters, digits and "_"), safe as a path component.
import MailQueue

enum FlushLogName {
    enum Refusal: Error, Equatable {
        /// Not ASCII, and no libicu to convert it.
        case nonASCII
        /// libicu refused it: why, in stock's words.
        case conversion(String)
        /// The ASCII form is not a valid host name.
        case malformed
    }

    static func make(site: ByteString, idna: IDNA? = IDNA.loaded) -> Result<QueueID, Refusal> {
        var bytes = site.bytes
        if let idna {
            switch idna.ascii(bytes) {
            case .success(let ascii): bytes = ascii
            case .failure(let refusal): return .failure(refusal)
            }
        }
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return .failure(.nonASCII) }
        let lower = DomainList.folded(bytes)
        guard isValidHostname(lower) else { return .failure(.malformed) }
        let mapped = lower.map { isAlnum($0) ? $0 : UInt8(ascii: "_") }
        guard let name = QueueID(String(decoding: mapped, as: UTF8.self)) else { return .failure(.malformed) }
        return .success(name)
    }

    /// The name after conversion must be a host name: labels of letters,
    /// digits, "_" and inner "-", at most 63 bytes each, no empty label, not
    /// all numeric, at most 255 bytes (ASCII names only have the checks
    /// UTS #46 adds on "-" at label ends, which this includes).
    static func isValidHostname(_ name: [UInt8]) -> Bool {
        guard !name.isEmpty, name.count <= 255 else { return false }
        let labels = name.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        var numeric = true
        for label in labels {
            guard !label.isEmpty, label.count <= 63,
                  label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else { return false }
            for c in label {
                guard isAlnum(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") else { return false }
                if !(c >= 0x30 && c <= 0x39) { numeric = false }
            }
        }
        return !numeric
    }

    static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}
