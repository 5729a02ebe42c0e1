// ParameterPrinter: "name = value" lines as postconf prints them.
// Guarantees: runs of whitespace inside a value (including joined
// continuation lines) print as one space, leading/trailing whitespace is
// dropped, an empty value prints as "name =" (or an empty line with -h),
// -H prints the name alone; with -f (fold) a word that would bring the line
// to column 80 starts a new line indented by four spaces.

public enum ParameterPrinter {
    public static func line(name: String, value: String, valuesOnly: Bool, namesOnly: Bool, fold: Bool = false) -> String {
        if namesOnly { return name }
        return Self.fold(valuesOnly ? value : "\(name) = \(value)", fold: fold)
    }

    /// The words of `text`, one space apart, or folded before column 80.
    static func fold(_ text: String, fold: Bool) -> String {
        var line = LineBuilder()
        for word in splitWords(text) {
            let length = word.utf8.count
            if line.width > 0 {
                if !fold || line.width + length < MasterQuery.lineLimit { line.add(" ") } else { line.breakLine() }
            }
            line.add(word)
        }
        return line.text
    }
}
