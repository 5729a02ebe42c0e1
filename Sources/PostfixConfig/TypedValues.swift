// TypedValues: integer, boolean, time and list readings of main.cf values.
// Guarantees: the same acceptance rules as Postfix's mail_conf_int/bool/time
// readers (strtol with nothing left over and int range; yes/no in any case;
// time = number plus optional unit w/d/h/m/s, default seconds) and their
// stock fatal texts.

extension MainConfig {
    public func integer(_ name: String) throws -> Int {
        let text = try value(name)
        guard let parsed = ValueSyntax.integer(text) else {
            throw ConfigError("bad numerical configuration: \(name) = \(text)")
        }
        return parsed
    }

    public func boolean(_ name: String) throws -> Bool {
        let text = try value(name)
        if let parsed = ValueSyntax.boolean(text) { return parsed }
        throw ConfigError("bad boolean configuration: \(name) = \(text)")
    }

    /// Seconds; the unit letter defaults to "s".
    public func seconds(_ name: String) throws -> Int {
        try seconds(name, defaultUnit: UInt8(ascii: "s"))
    }

    /// Time value with an explicit default unit (some parameters default to
    /// hours or days); text after the unit letter is ignored, as in stock.
    public func seconds(_ name: String, defaultUnit: UInt8) throws -> Int {
        let text = try value(name)
        guard let result = TimeValue.parse(text, defaultUnit: defaultUnit) else {
            throw ConfigError("parameter \(name): bad time value or unit: \(text)")
        }
        return result
    }

    /// List value: comma/whitespace separated, `{ ... }` groups kept whole.
    public func list(_ name: String) throws -> [String] {
        let text = try value(name)
        switch ConfigList.split(text) {
        case .success(let items): return items
        case .failure(let problem): throw ConfigError("\(name): \(problem.text)")
        }
    }
}

enum TimeValue {
    static func parse(_ text: String, defaultUnit: UInt8) -> Int? {
        guard let (number, rest) = cStrtol(text),
              number >= 0, number <= Int(Int32.max) else { return nil }
        let unit = rest.first ?? defaultUnit
        let scale: Int
        switch unit {
        case UInt8(ascii: "w"): scale = 7 * 86400
        case UInt8(ascii: "d"): scale = 86400
        case UInt8(ascii: "h"): scale = 3600
        case UInt8(ascii: "m"): scale = 60
        case UInt8(ascii: "s"): return number
        default: return nil
        }
        // Stock requires the product to stay below INT_MAX.
        guard number < Int(Int32.max) / scale else { return nil }
        return number * scale
    }
}
