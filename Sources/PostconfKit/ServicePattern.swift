// ServicePattern: the "service/type[/field|parameter]" operands of postconf's
// -M, -F and -P queries and edits.
// Guarantees (observed on stock 3.7.11 postconf): a pattern starting with "/"
// is invalid; empty parts are skipped ("a//unix" is "a/unix", "a/" is "a");
// the part count must lie in the caller's range; "*" matches anything but
// only as a whole part ("a*" is invalid); missing trailing parts are "*".

struct ServicePattern: Equatable {
    let parts: [String]

    /// nil when `text` is not a pattern of `min...max` parts.
    init?(_ text: String, parts range: ClosedRange<Int>) {
        if text.hasPrefix("/") { return nil }
        var parts = text.split(separator: "/").map(String.init)
        guard range.contains(parts.count) else { return nil }
        if parts.contains(where: { $0 != "*" && $0.contains("*") }) { return nil }
        while parts.count < range.upperBound { parts.append("*") }
        self.parts = parts
    }

    static func matches(_ part: String, _ value: String) -> Bool { part == "*" || part == value }

    func matches(name: String, type: String) -> Bool {
        Self.matches(parts[0], name) && Self.matches(parts[1], type)
    }

    /// The third part (field or parameter name), "*" when absent.
    var last: String { parts.count > 2 ? parts[2] : "*" }
    var isWildcardLast: Bool { last == "*" }
}
