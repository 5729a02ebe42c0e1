// ParameterLookup.swift - main.cf values for the queue libraries, whose
// readers want `(name) -> value after $-expansion, nil when not defined`
// (QmgrCore's ParameterReader applies stock's defaults, ranges and fatal
// texts itself). Guarantees: a parameter that main.cf, -o and Postfix's
// own defaults leave undefined is nil, never a made-up default; a defined
// value comes back exactly as the host expands it.
import PluginAPI

struct ParameterLookup {
    let host: ServiceHost

    /// Stands in for "undefined": the host returns the default only for a
    /// parameter it does not know, and no main.cf value can contain U+0001.
    private static let undefined = "\u{1}undefined\u{1}"

    func callAsFunction(_ name: String) -> String? {
        let value = host.string(name, default: Self.undefined)
        return value == Self.undefined ? nil : value
    }

    /// As a closure, for the libraries' initialisers.
    var closure: (String) -> String? { { self($0) } }

    /// A value every Postfix installation defines (queue_directory,
    /// myhostname, ...); `fallback` only when the host has no lookup.
    func string(_ name: String, default fallback: String) -> String {
        self(name) ?? fallback
    }
}
