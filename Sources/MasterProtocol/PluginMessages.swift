// PluginMessages.swift - every message the host logs about plugins, in one place.
//
// In MasterProtocol beside the descriptor checks that produce most of them.
//
// Tests and administrators match these texts; keep them stable. A refused
// plugin produces one `refused` line per problem, then one `disabled` line
// for the service that named it.

public enum PluginMessages {
    public static func resolved(service: String, canonical: String, command: String, path: String) -> String {
        "service \"\(service)\" (\(canonical)): command \(command) resolves to plugin \(path)"
    }

    public static func refused(_ path: String, _ reason: String) -> String {
        "plugin \(path) refused: \(reason)"
    }

    public static func disabled(service: String, canonical: String) -> String {
        "service \"\(service)\" (\(canonical)) disabled: its plugin was refused"
    }

    public static func mismatch(_ field: String, plugin: String, host: String) -> String {
        "\(field) \(plugin) (host \(host))"
    }

    public static func missingCallback(_ name: String, model: String) -> String {
        "missing required callback \(name) for the \(model) server model"
    }

    public static func unsupportedType(_ type: String, model: String) -> String {
        "service type \(type) is not supported by the \(model) server model"
    }

    public static let missingEntry = "missing entry symbol " + PluginABI.entryName
    public static func notRootOwned(_ path: String) -> String { "\(path) is not owned by root" }
    public static func writable(_ path: String) -> String { "\(path) is group or world writable" }
    public static func notRegularFile(_ path: String) -> String { "\(path) is not a regular file" }
    public static func archiveNamesNoLibrary(_ path: String) -> String { "\(path) names no shared library (dlname is empty)" }
    public static func archiveLibraryMissing(_ path: String, dlname: String, tried: [String]) -> String {
        "\(path) names \(dlname), which is not at " + tried.joined(separator: " or ")
    }
    public static func archiveUnquoted(_ path: String, field: String, line: Int) -> String {
        "\(path), line \(line): \(field) value is not quoted"
    }
    public static func archiveTooLarge(_ path: String) -> String { "\(path) is too large for a libtool archive" }
    public static func loadFailed(_ text: String) -> String { "cannot load: \(text)" }
    public static let validatorDied = "validation process died"
    public static let validatorTimeout = "validation timed out"
}
