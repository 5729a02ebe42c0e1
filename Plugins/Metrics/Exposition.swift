// Exposition.swift - metric families and their text forms: the Prometheus
// text exposition format 0.0.4 and OpenMetrics 1.0.0.
//
// A family is named without type suffixes; rendering adds them as each
// format wants: a counter is `<name>_total` (0.0.4 names the family so in
// its HELP/TYPE lines, OpenMetrics does not), an info family is
// `<name>_info` (a gauge in 0.0.4), and a gauge histogram (queue ages:
// they go down as well as up) is a `histogram` with `_bucket/_count/_sum`
// in 0.0.4 and a `gaugehistogram` with `_bucket/_gcount/_gsum` in
// OpenMetrics. Guarantees: label values and HELP texts are escaped as each
// format requires, so any byte string from a report (a service or
// destination name) stays one valid sample; OpenMetrics output ends with
// `# EOF`.

enum MetricType {
    case gauge
    case counter
    case info
    /// Buckets by upper bound (cumulative counts are computed here), with the sum.
    case gaugeHistogram
}

enum ExpositionFormat {
    case prometheus
    case openMetrics

    var contentType: String {
        switch self {
        case .prometheus: return "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }
}

typealias Labels = [(String, String)]

struct Sample {
    /// Added to the family name: "", "_total", "_bucket", ...; set by the family helpers.
    var suffix: String
    var labels: Labels
    var value: Double
}

struct MetricFamily {
    let name: String
    let help: String
    let type: MetricType
    private(set) var samples: [Sample] = []

    init(_ name: String, _ type: MetricType, _ help: String) {
        self.name = name
        self.type = type
        self.help = help
    }

    /// One gauge, counter or info sample.
    mutating func add(_ labels: Labels = [], _ value: Double) {
        let suffix: String
        switch type {
        case .counter: suffix = "_total"
        case .info: suffix = "_info"
        case .gauge, .gaugeHistogram: suffix = ""
        }
        samples.append(Sample(suffix: suffix, labels: labels, value: value))
    }

    /// One histogram: `counts[i]` observations at or below `bounds[i]`
    /// (not cumulative), `overflow` above the last bound, and their sum.
    mutating func addHistogram(_ labels: Labels, bounds: [Double], counts: [Int], overflow: Int, sum: Double) {
        var cumulative = 0
        for (bound, count) in zip(bounds, counts) {
            cumulative += count
            samples.append(Sample(suffix: "_bucket", labels: labels + [("le", Self.number(bound))], value: Double(cumulative)))
        }
        cumulative += overflow
        samples.append(Sample(suffix: "_bucket", labels: labels + [("le", "+Inf")], value: Double(cumulative)))
        samples.append(Sample(suffix: "_count", labels: labels, value: Double(cumulative)))
        samples.append(Sample(suffix: "_sum", labels: labels, value: sum))
    }

    func render(_ format: ExpositionFormat, into out: inout String) {
        let metadataName: String
        let typeName: String
        switch (type, format) {
        case (.gauge, _): (metadataName, typeName) = (name, "gauge")
        case (.counter, .prometheus): (metadataName, typeName) = (name + "_total", "counter")
        case (.counter, .openMetrics): (metadataName, typeName) = (name, "counter")
        case (.info, .prometheus): (metadataName, typeName) = (name + "_info", "gauge")
        case (.info, .openMetrics): (metadataName, typeName) = (name, "info")
        case (.gaugeHistogram, .prometheus): (metadataName, typeName) = (name, "histogram")
        case (.gaugeHistogram, .openMetrics): (metadataName, typeName) = (name, "gaugehistogram")
        }
        out += "# HELP \(metadataName) \(Self.escapeHelp(help, format))\n"
        out += "# TYPE \(metadataName) \(typeName)\n"
        for sample in samples {
            var suffix = sample.suffix
            if format == .openMetrics, type == .gaugeHistogram, suffix == "_count" || suffix == "_sum" {
                suffix = suffix == "_count" ? "_gcount" : "_gsum"
            }
            out += name + suffix
            if !sample.labels.isEmpty {
                out += "{" + sample.labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            }
            out += " " + Self.number(sample.value) + "\n"
        }
    }

    /// Integers without a fraction; infinities and NaN as both formats spell them.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func escapeLabel(_ text: String) -> String {
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// 0.0.4 escapes backslash and newline in HELP; OpenMetrics also the double quote.
    static func escapeHelp(_ text: String, _ format: ExpositionFormat) -> String {
        format == .openMetrics ? escapeLabel(text)
            : text.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }
}

/// Renders families in order; OpenMetrics ends with `# EOF`.
func exposition(_ families: [MetricFamily], _ format: ExpositionFormat) -> String {
    var out = ""
    for family in families where !family.samples.isEmpty {
        family.render(format, into: &out)
    }
    if format == .openMetrics { out += "# EOF\n" }
    return out
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation here).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
