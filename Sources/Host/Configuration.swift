// Configuration.swift - reads main.cf and master.cf as one validated unit.
//
// A load either returns settings and services that are complete and
// consistent, or throws a ConfigError naming the file (and line) at fault;
// the caller decides whether that is fatal (start-up) or merely reported
// (reload, where the running configuration stays in force). Parameters that
// cannot change without a restart keep their first values, with the stock
// warnings. A loaded configuration may run only once its plugins have been
// validated: the caller validates `pluginPaths` (PluginValidator, at once at
// start-up, on the event loop at reload) and passes the results to
// `applyValidation`, which disables the services of refused plugins.

import PostfixConfig

struct Configuration {
    let main: MainConfig
    var settings: MasterSettings
    var services: MasterConfig
    let parseWarnings: [String]
    /// What each service's command runs, by service key.
    var programs: [String: ServiceProgram] = [:]
    /// Log lines about frozen parameters and plugins, emitted by logNotices.
    var notices: [(LogLevel, String)] = []

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
        }
        let interfacesChanged = frozen.map { $0.inetInterfaces != settings.inetInterfaces } ?? false
        if let frozen { settings.inetInterfaces = frozen.inetInterfaces }
        var options = try MasterParseOptions(main: main)
        options.inetInterfaces = settings.inetInterfaces
        options.inetProtocols = settings.inetProtocols
        let services = try MasterConfig.load(configDirectory: configDirectory, options: options)
        var configuration = Configuration(main: main, settings: settings, services: services,
                                          parseWarnings: options.warnings)
        if interfacesChanged { configuration.warnInterfacesFrozen() }
        configuration.resolvePrograms()
        return configuration
    }

    /// inet listeners were bound with the first inet_interfaces; as stock,
    /// each inet service says the change is ignored.
    private mutating func warnInterfacesFrozen() {
        for entry in services.entries where entry.type == .inet {
            notices.append((.warning, "service \(entry.name): ignoring inet_interfaces change"))
            notices.append((.warning, "to change inet_interfaces, stop and start Postfix"))
        }
    }

    /// Decides plugin or executable for every service.
    private mutating func resolvePrograms() {
        for entry in services.entries {
            programs[entry.key] = ServiceProgram.resolve(command: entry.command, pluginDirectory: settings.pluginDirectory,
                                                         daemonDirectory: settings.daemonDirectory)
        }
    }

    /// Every plugin file the services name, once each, in master.cf order.
    var pluginPaths: [String] {
        var seen = Set<String>()
        return services.entries.compactMap { entry in
            guard case .plugin(let path)? = programs[entry.key], seen.insert(path).inserted else { return nil }
            return path
        }
    }

    /// Takes the validators' results: a refused plugin disables only the
    /// services that name it, with one log line per problem.
    mutating func applyValidation(_ results: [String: PluginValidator.Result]) {
        var kept: [MasterEntry] = []
        for entry in services.entries {
            guard case .plugin(let path)? = programs[entry.key] else {
                kept.append(entry)
                continue
            }
            let result = results[path] ?? PluginValidator.Result(problems: [PluginMessages.validatorDied])
            var problems = result.problems
            if problems.isEmpty && entry.type == .unixDgram {
                problems.append(PluginMessages.unsupportedType(entry.type.rawValue, model: PluginABI.modelName(result.model)))
            }
            if !problems.isEmpty {
                notices += problems.map { (.error, PluginMessages.refused(path, $0)) }
                notices.append((.warning, PluginMessages.disabled(service: entry.name, canonical: entry.canonicalName)))
                programs[entry.key] = nil
                continue
            }
            notices.append((.info, PluginMessages.resolved(service: entry.name, canonical: entry.canonicalName,
                                                                 command: entry.command, path: path)))
            kept.append(entry)
        }
        services.entries = kept
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
        for (level, text) in notices { MasterLog.emit(level, text) }
    }

    private static func keepFrozen(_ value: inout String, _ old: String, name: String) {
        guard value != old else { return }
        MasterLog.warning("ignoring \(name) parameter value change")
        MasterLog.warning("old value: \"\(old)\", new value: \"\(value)\"")
        MasterLog.warning("to change \(name), stop and start Postfix")
        value = old
    }
}
