// Parameters.swift - main.cf parameters as the host sees them (-o overrides
// applied, $name expanded), typed, each with the default the plugin gives.
//
// When the host lacks a lookup function the default is returned, so a plugin
// can always rely on getting a value.
import MailhostPluginABI

extension ServiceHost {
    public func string(_ name: String, default fallback: String) -> String {
        guard let lookup = table.paramString else { return fallback }
        return withMHStr(name) { key in
            withMHStr(fallback) { dflt in
                copyOutString { lookup(handle, key, dflt, $0, $1) }
            }
        }
    }

    public func int(_ name: String, default fallback: Int64) -> Int64 {
        guard let lookup = table.paramInt else { return fallback }
        return withMHStr(name) { lookup(handle, $0, fallback) }
    }

    public func bool(_ name: String, default fallback: Bool) -> Bool {
        guard let lookup = table.paramBool else { return fallback }
        return withMHStr(name) { lookup(handle, $0, fallback ? 1 : 0) } != 0
    }

    /// A time parameter in seconds; `fallback` is written as in main.cf, e.g.
    /// "100s" or "1h". Without a host lookup, a plain "<n>s"/"<n>" default is
    /// parsed here and anything else gives 0.
    public func time(_ name: String, default fallback: String) -> Int64 {
        guard let lookup = table.paramTime else { return ServiceHost.seconds(fallback) ?? 0 }
        return withMHStr(name) { key in withMHStr(fallback) { lookup(handle, key, $0) } }
    }

    // MARK: ABI 1.1: parameters whose bad values are errors, not exits

    /// What `checked` reads.
    public enum ParameterKind: UInt32, Sendable {
        case integer = 1    // MH_PARAM_INT
        case time = 2       // MH_PARAM_TIME, seconds
        case boolean = 3    // MH_PARAM_BOOL, 1 or 0
    }

    /// A parameter read as `int`, `time` or `bool` read it, with Postfix's
    /// minimum and maximum (0: no bound), throwing Postfix's complaint about
    /// a bad value instead of ending the process.
    public func checked(_ kind: ParameterKind, _ name: String, default fallback: String,
                        minimum: Int64 = 0, maximum: Int64 = 0) throws -> Int64 {
        guard let read = table.paramChecked else { throw PluginError("host provides no param_checked (ABI 1.1)") }
        var value: Int64 = 0
        var complaint = [CChar](repeating: 0, count: 512)
        let status = withMHStr(name) { key in
            withMHStr(fallback) { dflt in
                read(handle, kind.rawValue, key, dflt, minimum, maximum, &value, &complaint, complaint.count)
            }
        }
        switch status {
        case 0: return value
        case -1: throw PluginError(String(decoding: complaint.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        default: throw PluginError("param_checked refused \(name)")
        }
    }

    /// "<n>" or "<n><unit>" with unit s, m, h, d, w (as Postfix time values).
    public static func seconds(_ text: String) -> Int64? {
        var digits = Substring(text)
        var scale: Int64 = 1
        if let last = text.last, !last.isNumber {
            switch last {
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86400
            case "w": scale = 604800
            default: return nil
            }
            digits = digits.dropLast()
        }
        guard let value = Int64(digits) else { return nil }
        return value.multipliedReportingOverflow(by: scale).overflow ? nil : value * scale
    }
}
