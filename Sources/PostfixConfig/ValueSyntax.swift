// ValueSyntax: the typed readings of MainConfig (TypedValues) for callers
// that hold a parameter's text but not a MainConfig, such as a worker that
// gets its values through the host's parameter lookup. Guarantees: the same
// acceptance rules as MainConfig.integer/boolean/seconds, because both call
// the same parsers; nil means stock would call the text malformed.

import PostfixText

public enum ValueSyntax {
    /// mail_conf_int: strtol with nothing left over, within C int range.
    public static func integer(_ text: String) -> Int? {
        guard let parsed = cStrtol(text), parsed.rest.isEmpty,
              parsed.value >= Int(Int32.min), parsed.value <= Int(Int32.max) else { return nil }
        return parsed.value
    }

    /// mail_conf_bool: "yes" or "no" in any case.
    public static func boolean(_ text: String) -> Bool? {
        BooleanValue.parse(text)
    }

    /// mail_conf_time: seconds; `defaultUnit` applies to a bare number.
    public static func seconds(_ text: String, defaultUnit: UInt8) -> Int? {
        TimeValue.parse(text, defaultUnit: defaultUnit)
    }
}
