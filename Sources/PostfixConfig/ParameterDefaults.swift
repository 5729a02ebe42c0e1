// ParameterDefaults: the compiled-in default of each main.cf parameter.
// Guarantees: values are exactly what Debian's `postconf -d` prints for
// Postfix 3.7.11 (unexpanded), except the host-dependent ones, which are
// computed the way Postfix computes them (myhostname from gethostname(),
// with ".localdomain" appended to a bare name; mydomain from myhostname).

#if canImport(Glibc)
import Glibc
#endif

public enum ParameterDefaults {
    /// The default used when the machine name has no dot (DEF_MYDOMAIN).
    static let fallbackDomain = "localdomain"

    /// Debian bookworm 3.7.11 default (`postconf -d`) of `name`, or nil if unknown.
    public static func value(_ name: String) -> String? {
        switch name {
        case "myhostname": return defaultHostname(mydomain: nil)
        case "mydomain": return domainPart(of: defaultHostname(mydomain: nil))
        default: return tableValue(name) ?? ProjectParameters.defaults[name]
        }
    }

    /// Every parameter with a known default, sorted by name.
    public static var names: [String] {
        var all = parameterDefaultTable.map(\.name)
        all.append(contentsOf: ["mydomain", "myhostname"])
        all.append(contentsOf: ProjectParameters.defaults.keys)
        return all.sorted()
    }

    /// myhostname default: the kernel host name, made fully qualified with
    /// `mydomain` (from main.cf, if given) or "localdomain" when it has no dot.
    static func defaultHostname(mydomain: String?) -> String {
        let host = systemHostname()
        if host.utf8.contains(UInt8(ascii: ".")) { return host }
        return host + "." + (mydomain ?? fallbackDomain)
    }

    /// mydomain default: what follows the first dot of myhostname.
    static func domainPart(of hostname: String) -> String {
        guard let dot = hostname.firstIndex(of: ".") else { return fallbackDomain }
        return String(hostname[hostname.index(after: dot)...])
    }

    static func systemHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(bytes: bytes)
    }

    /// Binary search in the generated, name-sorted table.
    static func tableValue(_ name: String) -> String? {
        let table = parameterDefaultTable
        var lo = 0, hi = table.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let candidate = table[mid].name
            if candidate == name { return table[mid].value }
            if candidate < name { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }
}
