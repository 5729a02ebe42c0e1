// ServiceDisable: the master_service_disable pattern list.
// Guarantees: patterns are "type", "name/type" or legacy "name.type"
// (rewritten at the rightmost "." when there is no "/"); each leading "!"
// flips the verdict; comparison is ASCII case-insensitive and exact; the
// first matching pattern decides; no match means enabled.

public struct ServiceDisableFilter: Sendable {
    private struct Pattern: Sendable {
        let text: String        // lower-cased, "!" removed
        let disables: Bool
        let hasName: Bool       // "name/type" rather than bare "type"
    }

    private let patterns: [Pattern]

    /// master_service_disable syntax (type, name/type, legacy name.type, ! negation).
    public init(_ value: String) {
        patterns = BraceTokenizer.tokens(value, separators: listSeparators)
            .map(Self.compile)
    }

    /// A copy that additionally disables every service of `type`, checked first.
    public func disablingFirst(type: String) -> ServiceDisableFilter {
        ServiceDisableFilter(patterns: [Self.compile(type)] + patterns)
    }

    private init(patterns: [Pattern]) { self.patterns = patterns }

    public var isEmpty: Bool { patterns.isEmpty }

    public func isDisabled(name: String, type: String) -> Bool {
        let full = (name + "/" + type).lowercasedASCII
        let bareType = type.lowercasedASCII
        for pattern in patterns where pattern.text == (pattern.hasName ? full : bareType) {
            return pattern.disables
        }
        return false
    }

    private static func compile(_ raw: String) -> Pattern {
        var disables = true
        var body = Substring(raw)
        while body.first == "!" {
            disables.toggle()
            body = body.dropFirst()
        }
        var text = String(body)
        // Legacy "name.type" form, only when no "/" is present anywhere.
        if !raw.contains("/"), let dot = text.lastIndex(of: ".") {
            text.replaceSubrange(dot...dot, with: "/")
        }
        return Pattern(text: text.lowercasedASCII, disables: disables, hasName: text.contains("/"))
    }
}
