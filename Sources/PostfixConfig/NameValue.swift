// NameValue: splits one "name = value" main.cf entry.
// Guarantees: name is the leading run of non-space, non-"=" bytes; blanks
// around "=" and at both ends of the value are dropped, inner text is kept
// verbatim; failures are reported with the stock reason texts.

enum NameValue {
    enum Problem: Error, Equatable {
        case missingName
        case missingEquals

        var text: String {
            switch self {
            case .missingName: return "missing attribute name"
            case .missingEquals: return "missing '=' after attribute name"
            }
        }
    }

    static func split(_ text: String) -> Result<(String, String), Problem> {
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count, isSpaceByte(bytes[i]) { i += 1 }
        guard i < bytes.count, bytes[i] != UInt8(ascii: "=") else { return .failure(.missingName) }
        let nameStart = i
        while i < bytes.count, !isSpaceByte(bytes[i]), bytes[i] != UInt8(ascii: "=") { i += 1 }
        let nameEnd = i
        while i < bytes.count, isSpaceByte(bytes[i]) { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { return .failure(.missingEquals) }
        i += 1
        while i < bytes.count, isSpaceByte(bytes[i]) { i += 1 }
        var valueEnd = bytes.count
        while valueEnd > i, isSpaceByte(bytes[valueEnd - 1]) { valueEnd -= 1 }
        return .success((String(bytes: bytes[nameStart..<nameEnd]), String(bytes: bytes[i..<valueEnd])))
    }
}
