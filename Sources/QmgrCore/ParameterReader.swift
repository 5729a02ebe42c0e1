// ParameterReader: typed reads of main.cf values (after $-expansion) through
// the worker's parameter lookup, with stock's defaults-when-absent, ranges and
// fatal texts. Guarantees: a value stock's mail_conf_int/time/bool/str
// readers reject is a thrown QmgrConfigError whose description is stock's
// fatal message (src/global/mail_conf_int.c, mail_conf_time.c,
// mail_conf_bool.c, mail_conf_str.c); nothing is silently replaced by a default.
import PostfixConfig

/// Why the settings cannot be used: each case prints as stock's msg_fatal text.
public enum QmgrConfigError: Error, Equatable, CustomStringConvertible {
    case badNumber(name: String, value: String)
    case badTime(name: String, value: String)
    case badBoolean(name: String, value: String)
    case integerBelowMinimum(name: String, value: Int, minimum: Int)
    case integerAboveMaximum(name: String, value: Int, maximum: Int)
    case timeBelowMinimum(name: String, value: Int, minimum: Int)
    case timeAboveMaximum(name: String, value: Int, maximum: Int)
    case stringTooShort(name: String, value: String, minimum: Int)
    /// Ours (no stock counterpart): a `N/period` rate limit that does not parse.
    case badRateLimit(name: String, value: String)

    public var description: String {
        switch self {
        case .badNumber(let name, let value): return "bad numerical configuration: \(name) = \(value)"
        case .badTime(let name, let value): return "parameter \(name): bad time value or unit: \(value)"
        case .badBoolean(let name, let value): return "bad boolean configuration: \(name) = \(value)"
        case .integerBelowMinimum(let name, let value, let minimum):
            return "invalid \(name) parameter value \(value) < \(minimum)"
        case .integerAboveMaximum(let name, let value, let maximum):
            return "invalid \(name) parameter value \(value) > \(maximum)"
        case .timeBelowMinimum(let name, let value, let minimum): return "invalid \(name): \(value) (min \(minimum))"
        case .timeAboveMaximum(let name, let value, let maximum): return "invalid \(name): \(value) (max \(maximum))"
        case .stringTooShort(let name, let value, let minimum):
            return "bad string length \(value.utf8.count) < \(minimum): \(name) = \(value)"
        case .badRateLimit(let name, let value):
            return "bad rate limit configuration: \(name) = \(value) (expected N/period, e.g. 10/1m)"
        }
    }
}

/// Reads parameters as stock's get_mail_conf_* functions do. `lookup` gives
/// a parameter's value after $-expansion, nil when main.cf does not set it.
public struct ParameterReader {
    public let lookup: (String) -> String?

    public init(lookup: @escaping (String) -> String?) { self.lookup = lookup }

    /// An integer; `minimum`/`maximum` of 0 mean "no bound", as in stock.
    public func integer(_ name: String, default value: Int, minimum: Int = 0, maximum: Int = 0)
        throws(QmgrConfigError) -> Int {
        var result = value
        if let text = lookup(name) {
            guard let parsed = ValueSyntax.integer(text) else { throw .badNumber(name: name, value: text) }
            result = parsed
        }
        if minimum != 0 && result < minimum { throw .integerBelowMinimum(name: name, value: result, minimum: minimum) }
        if maximum != 0 && result > maximum { throw .integerAboveMaximum(name: name, value: result, maximum: maximum) }
        return result
    }

    /// Seconds. `unit` is the unit of a bare number: stock takes it from the
    /// default value's text ("5d" makes `maximal_queue_lifetime = 3` three days).
    public func seconds(_ name: String, default value: Int, unit: Character = "s", minimum: Int = 0, maximum: Int = 0)
        throws(QmgrConfigError) -> Int {
        var result = value
        if let text = lookup(name) {
            guard let parsed = ValueSyntax.seconds(text, defaultUnit: unit.asciiValue ?? UInt8(ascii: "s")) else {
                throw .badTime(name: name, value: text)
            }
            result = parsed
        }
        if minimum != 0 && result < minimum { throw .timeBelowMinimum(name: name, value: result, minimum: minimum) }
        if maximum != 0 && result > maximum { throw .timeAboveMaximum(name: name, value: result, maximum: maximum) }
        return result
    }

    public func boolean(_ name: String, default value: Bool) throws(QmgrConfigError) -> Bool {
        guard let text = lookup(name) else { return value }
        guard let parsed = ValueSyntax.boolean(text) else { throw .badBoolean(name: name, value: text) }
        return parsed
    }

    /// A string whose length must be at least `minimumLength` (0 = any).
    public func string(_ name: String, default value: String, minimumLength: Int = 0) throws(QmgrConfigError) -> String {
        let result = lookup(name) ?? value
        if minimumLength != 0 && result.utf8.count < minimumLength {
            throw .stringTooShort(name: name, value: result, minimum: minimumLength)
        }
        return result
    }
}
