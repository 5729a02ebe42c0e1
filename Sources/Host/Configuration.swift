// Configuration.swift - reads main.cf and master.cf as one validated unit.
//
// A load either returns settings and services that are complete and
// consistent, or throws a ConfigError naming the file (and line) at fault;
// the caller decides whether that is fatal (start-up) or merely reported
// (reload, where the running configuration stays in force). Parameters that
// cannot change without a restart keep their first values, with the stock
// warnings.

import PostfixConfig

struct Configuration {
    let main: MainConfig
    var settings: MasterSettings
    let services: MasterConfig
    let parseWarnings: [String]

    /// Values frozen at start-up.
    struct Frozen {
        let queueDirectory: String
        let inetProtocols: String
        let inetInterfaces: String
    }

    static func load(configDirectory: String, frozen: Frozen?) throws -> Configuration {
        let main = try MainConfig.load(configDirectory: configDirectory)
        var settings = try MasterSettings.load(main)
        if let frozen {
            keepFrozen(&settings.queueDirectory, frozen.queueDirectory, name: "queue_directory")
            keepFrozen(&settings.inetProtocols, frozen.inetProtocols, name: "inet_protocols")
            keepFrozen(&settings.inetInterfaces, frozen.inetInterfaces, name: "inet_interfaces")
        }
        var options = try MasterParseOptions(main: main)
        options.inetInterfaces = settings.inetInterfaces
        options.inetProtocols = settings.inetProtocols
        let services = try MasterConfig.load(configDirectory: configDirectory, options: options)
        return Configuration(main: main, settings: settings, services: services,
                             parseWarnings: options.warnings)
    }

    var frozen: Frozen {
        Frozen(queueDirectory: settings.queueDirectory, inetProtocols: settings.inetProtocols,
               inetInterfaces: settings.inetInterfaces)
    }

    /// Logs what the parsers noticed but did not refuse.
    func logNotices() {
        main.warnings.forEach(MasterLog.warning)
        parseWarnings.forEach(MasterLog.warning)
        services.warnings.forEach(MasterLog.warning)
        services.infos.forEach(MasterLog.info)
    }

    private static func keepFrozen(_ value: inout String, _ old: String, name: String) {
        guard value != old else { return }
        MasterLog.warning("ignoring \(name) parameter value change")
        MasterLog.warning("old value: \"\(old)\", new value: \"\(value)\"")
        MasterLog.warning("to change \(name), stop and start Postfix")
        value = old
    }
}
