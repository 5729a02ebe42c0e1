// ParameterPrinter: "name = value" lines as postconf prints them.
// Guarantees: runs of whitespace inside a value (including joined
// continuation lines) print as one space, leading/trailing whitespace is
// dropped, an empty value prints as "name =" (or an empty line with -h),
// -H prints the name alone.

public enum ParameterPrinter {
    public static func line(name: String, value: String, valuesOnly: Bool, namesOnly: Bool) -> String {
        if namesOnly { return name }
        let shown = collapse(value)
        if valuesOnly { return shown }
        return shown.isEmpty ? "\(name) =" : "\(name) = \(shown)"
    }

    static func collapse(_ value: String) -> String {
        splitWords(value).joined(separator: " ")
    }
}
