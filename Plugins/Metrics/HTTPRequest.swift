// HTTPRequest.swift - parsing one HTTP/1.x request head (request line and
// header fields, up to the empty line) from the bytes received so far.
//
// Strict where laxness would hide a broken or hostile client: the request
// line must be `METHOD SP /target SP HTTP/1.0|1.1`, methods and field names
// are tokens, obsolete line folding and a missing Host (HTTP/1.1) are
// malformed, a body (Content-Length > 0 or Transfer-Encoding) is refused as
// too large (this service takes none). Lines may end in CRLF or LF.
// Guarantees: never reads past the head; a head longer than `limit` bytes
// is `.tooLarge` as soon as that is known, without waiting for more input.

struct HTTPRequest {
    let method: String
    /// The target without its query string.
    let path: String
    let minorVersion: Int
    /// Field names in lower case; a repeated field's values joined with ", ".
    let fields: [String: String]
    /// Bytes of the head, including the empty line.
    let length: Int

    /// Whether the connection stays open after the response.
    var keepAlive: Bool {
        let tokens = (fields["connection"] ?? "").lowercased().split(separator: ",").map { $0.trimmingSpaces() }
        if tokens.contains("close") { return false }
        return minorVersion >= 1 || tokens.contains("keep-alive")
    }
}

enum HeadParse {
    case incomplete
    case request(HTTPRequest)
    case malformed(String)
    case tooLarge
    case bodyRefused
}

enum HTTPHead {
    static func parse(_ bytes: ArraySlice<UInt8>, limit: Int) -> HeadParse {
        guard let end = headEnd(bytes) else { return bytes.count > limit ? .tooLarge : .incomplete }
        if end - bytes.startIndex > limit { return .tooLarge }
        var lines = bytes[bytes.startIndex..<end].split(separator: 10, omittingEmptySubsequences: false).map { line in
            line.last == 13 ? line.dropLast() : line
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { return .malformed("empty request") }
        let words = first.split(separator: 32, omittingEmptySubsequences: false)
        guard words.count == 3 else { return .malformed("request line is not METHOD TARGET VERSION") }
        let method = String(decoding: words[0], as: UTF8.self)
        guard !method.isEmpty, words[0].allSatisfy(isTokenByte) else { return .malformed("bad method") }
        guard words[1].first == UInt8(ascii: "/"), words[1].allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return .malformed("bad request target")
        }
        let target = String(decoding: words[1], as: UTF8.self)
        let version = String(decoding: words[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .malformed("unsupported version") }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy(isTokenByte) else {
                return .malformed("bad header field")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces()
            fields[name] = fields[name].map { $0 + ", " + value } ?? value
        }
        let minor = version == "HTTP/1.1" ? 1 : 0
        if minor == 1 && fields["host"] == nil { return .malformed("HTTP/1.1 request without Host") }
        if fields["transfer-encoding"] != nil { return .bodyRefused }
        if let length = fields["content-length"] {
            guard let value = Int(length), value >= 0 else { return .malformed("bad Content-Length") }
            if value > 0 { return .bodyRefused }
        }
        let path = String(target.prefix { $0 != "?" })
        return .request(HTTPRequest(method: method, path: path, minorVersion: minor, fields: fields,
                                    length: end - bytes.startIndex))
    }

    /// The index just past the empty line that ends the head, if received.
    private static func headEnd(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        while let newline = bytes[index...].firstIndex(of: 10) {
            let next = newline + 1
            if next < bytes.endIndex, bytes[next] == 10 { return next + 1 }
            if next + 1 < bytes.endIndex, bytes[next] == 13, bytes[next + 1] == 10 { return next + 2 }
            index = next
        }
        return nil
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    /// OpenMetrics when the Accept header prefers it to the text format.
    static func format(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheus }
        var openMetrics = 0.0, text = 0.0
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingSpaces().lowercased() }
            guard let type = parts.first else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if type == "application/openmetrics-text" { openMetrics = max(openMetrics, quality) }
            if type == "text/plain" || type == "*/*" || type == "text/*" { text = max(text, quality) }
        }
        return openMetrics > 0 && openMetrics >= text ? .openMetrics : .prometheus
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
