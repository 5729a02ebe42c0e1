// ExportEnvironment.swift - the environment a spawned command gets, as
// spawn(8) builds it: only the variables named in export_environment that are
// set (or name=value entries, which set a value), then PATH reset to the
// system default search path. The list splits on commas and white space;
// an element wholly inside { } is taken as the text inside the braces.
import Glibc

enum ExportEnvironment {
    /// The command search path every spawned command gets (glibc's _PATH_DEFPATH).
    static let defaultPath = "/usr/bin:/bin"

    /// "NAME=value" strings for the command, given the list value and a
    /// lookup of the current environment.
    static func build(list: String, lookup: (String) -> String?) -> [String] {
        var result: [(String, String)] = []
        func set(_ name: String, _ value: String) {
            result.removeAll { $0.0 == name }
            result.append((name, value))
        }
        for element in split(list) {
            if let equals = element.firstIndex(of: "=") {
                let name = trimmed(element[..<equals])
                guard !name.isEmpty else { continue }
                set(name, trimmed(element[element.index(after: equals)...]))
            } else if let value = lookup(element) {
                set(element, value)
            }
        }
        set("PATH", defaultPath)
        return result.map { $0.0 + "=" + $0.1 }
    }

    /// Splits on ", \t\r\n", keeping { } groups whole and unwrapping them.
    static func split(_ list: String) -> [String] {
        var elements: [String] = []
        var current = ""
        var depth = 0
        for character in list {
            if depth == 0 && (character == "," || character == " " || character == "\t" || character == "\r" || character == "\n") {
                if !current.isEmpty { elements.append(current) }
                current = ""
                continue
            }
            if character == "{" { depth += 1 }
            if character == "}" && depth > 0 { depth -= 1 }
            current.append(character)
        }
        if !current.isEmpty { elements.append(current) }
        return elements.map(unwrapBraces)
    }

    private static func unwrapBraces(_ element: String) -> String {
        guard element.hasPrefix("{"), element.hasSuffix("}"), element.count >= 2 else { return element }
        return trimmed(element.dropFirst().dropLast())
    }

    private static func trimmed(_ text: Substring) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    /// The process environment's value of `name`, nil when unset.
    static func current(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
