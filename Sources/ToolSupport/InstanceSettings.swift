// InstanceSettings: the main.cf values postfix(1) and postmulti(1) act on.
// Guarantees: values are expanded exactly as the master would see them
// (PostfixConfig); a missing or unreadable main.cf is a SettingsError worded
// like stock ("open <dir>/main.cf: No such file or directory").

import ChildProcesses
import PostfixConfig

public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
}

public struct InstanceSettings {
    public let main: MainConfig
    public let configDirectory: String

    /// What postfix(1) exports to its command environment (section 7.2).
    public static let exportedNames = [
        "command_directory", "daemon_directory", "data_directory", "meta_directory",
        "queue_directory", "config_directory", "shlib_directory", "mail_owner",
        "setgid_group", "sendmail_path", "mailq_path", "newaliases_path",
        "manpage_directory", "sample_directory", "readme_directory", "html_directory",
    ]

    public init(configDirectory: String) throws {
        self.configDirectory = configDirectory
        do { main = try MainConfig.load(configDirectory: configDirectory) } catch {
            throw SettingsError(description: "\(error)")
        }
    }

    public func value(_ name: String) throws -> String {
        do { return try main.value(name) } catch { throw SettingsError(description: "\(error)") }
    }

    public func list(_ name: String) throws -> [String] { splitConfigList(try value(name)) }

    public var commandDirectory: String { (try? value("command_directory")) ?? "/usr/sbin" }
    public var daemonDirectory: String { (try? value("daemon_directory")) ?? "/usr/lib/postfix/sbin" }
    public var queueDirectory: String { (try? value("queue_directory")) ?? "/var/spool/postfix" }
    public var dataDirectory: String { (try? value("data_directory")) ?? "/var/lib/postfix" }

    /// import_environment applied to `env`: "NAME=value" entries are set,
    /// bare "NAME" entries are kept from `env` when present.
    public func importedEnvironment(from env: [String]) throws -> [String] {
        var result: [String] = []
        for item in try list("import_environment") {
            if let eq = item.firstIndex(of: "=") {
                result = setting(String(item[..<eq]), String(item[item.index(after: eq)...]), in: result)
            } else if let v = lookup(item, in: env) {
                result = setting(item, v, in: result)
            }
        }
        return result
    }

    /// The environment postfix(1) gives the commands it runs (section 7.2).
    public func commandEnvironment(from env: [String]) throws -> [String] {
        var result = try importedEnvironment(from: env)
        result = setting("MAIL_LOGTAG", try value("syslog_name"), in: result)
        result = setting("PATH", "/bin:/usr/bin:/sbin:/usr/sbin", in: result)
        result = setting("MAIL_CONFIG", configDirectory, in: result)
        for name in Self.exportedNames {
            result = setting(name, name == "config_directory" ? configDirectory : try value(name), in: result)
        }
        // With maillog_file, the logging client's settings travel along, as stock re-exports them.
        if !(try value("maillog_file")).isEmpty {
            result = setting("POSTLOG_SERVICE", queueDirectory + "/public/" + (try value("postlog_service_name")), in: result)
            result = setting("POSTLOG_HOSTNAME", try value("myhostname"), in: result)
        }
        return result
    }
}
