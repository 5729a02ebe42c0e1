// MasterSettings.swift - the main.cf values the master acts on.
//
// Built in one step from a MainConfig so that a reload either yields a
// complete, validated set of values or an error naming the file, and the
// running configuration is never half replaced.

import Glibc
import PostfixConfig
import ToolSupport

package struct MasterSettings {
    var configDirectory: String
    package var queueDirectory: String
    package var dataDirectory: String
    package var daemonDirectory: String
    package var pluginDirectory: String
    package var mailOwner: MailOwner
    package var defaultProcessLimit: Int
    package var serviceThrottleTime: Int
    package var syslogName: String
    package var syslogFacility: Int32
    /// smtputf8_enable: UTF-8 characters stay in log records.
    package var smtputf8Enable: Bool
    package var maillogFile: String
    var postlogServiceName: String
    package var myHostname: String
    package var importEnvironment: [String]
    package var inetInterfaces: String
    package var inetProtocols: String
    var debuggerCommand: String
    package var version: String

    package static func load(_ main: MainConfig) throws -> MasterSettings {
        func fail(_ name: String, _ what: String) -> ConfigError {
            ConfigError("file \(main.path): parameter \(name): \(what)")
        }
        let ownerName = try main.value("mail_owner")
        guard let owner = MailOwner.lookup(ownerName) else {
            throw fail("mail_owner", "unknown user name value: \(ownerName)")
        }
        let facilityName = try main.value("syslog_facility")
        guard let facility = MasterLog.facility(named: facilityName) else {
            throw fail("syslog_facility", "unrecognized value: \(facilityName)")
        }
        let throttle = try main.seconds("service_throttle_time")
        guard throttle >= 1 else {
            throw fail("service_throttle_time", "bad value: \(throttle)")
        }
        let maillog = try main.value("maillog_file")
        if !maillog.isEmpty {
            let prefixes = try main.list("maillog_file_prefixes")
            guard prefixes.contains(where: { maillog.hasPrefix($0) }) else {
                throw ConfigError("maillog_file value '\(maillog)' does not match any prefix in maillog_file_prefixes")
            }
        }
        return MasterSettings(
            configDirectory: main.configDirectory,
            queueDirectory: try main.value("queue_directory"),
            dataDirectory: try main.value("data_directory"),
            daemonDirectory: try main.value("daemon_directory"),
            pluginDirectory: try main.value("plugin_directory"),
            mailOwner: owner,
            defaultProcessLimit: try main.integer("default_process_limit"),
            serviceThrottleTime: throttle,
            syslogName: try main.value("syslog_name"),
            syslogFacility: facility,
            smtputf8Enable: try main.boolean("smtputf8_enable"),
            maillogFile: maillog,
            postlogServiceName: try main.value("postlog_service_name"),
            myHostname: try main.value("myhostname"),
            importEnvironment: splitConfigList(try main.value("import_environment")),
            inetInterfaces: try main.value("inet_interfaces"),
            inetProtocols: try main.value("inet_protocols"),
            debuggerCommand: try main.value("debugger_command"),
            version: try main.value("mail_version"))
    }

    /// Where log records go under these settings.
    package var logSink: LogSink {
        if maillogFile.isEmpty { return .syslog }
        let label = myHostname.split(separator: ".").first.map(String.init) ?? myHostname
        return .postlog(PostlogClient(socketPath: postlogSocketPath, file: maillogFile, hostLabel: label), direct: false)
    }

    package var postlogSocketPath: String { queueDirectory + "/public/" + postlogServiceName }
}
