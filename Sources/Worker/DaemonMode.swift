// DaemonMode.swift - the master binary started as a Postfix daemon runs a plugin.
//
// When a master (ours or the stock one) execs this binary under another
// name (argv[0] is the master.cf command, GENERATION is set), it behaves as a
// Postfix daemon whose code is a plugin: it parses the daemon command line
// (getopt "cdDi:lm:n:o:r:s:St:uvVz"), reads main.cf from MAIL_CONFIG, and
// runs the same worker as a forked plugin child, which loads the plugin
// through the same file and ABI checks. The plugin is exactly the file named
// by `-o mailhost_plugin=PATH` when PATH ends in .so or .la; otherwise PATH
// (default `$plugin_directory/<argv0>`) is a base name resolved as the master
// resolves commands, PATH.la before PATH.so. This lets the stock master run
// plugins, and measures what exec costs compared with fork-only plugin
// workers.

import Glibc
import PostfixConfig

package enum DaemonMode {
    /// True when this process was exec'd by a master as a service daemon.
    package static func isRequested(_ arguments: [String]) -> Bool {
        guard let first = arguments.first else { return false }
        return ChildArguments.basename(first) != "master" && getenv("GENERATION") != nil
    }

    struct Command {
        var name = ""
        var type: ServiceType?
        var chroot = false
        var unprivileged = false
        var socketCount = 1
        var overrides: [String] = []     // "-o", "name=value" pairs as given
        var operands: [String] = []
    }

    package static func run(_ arguments: [String]) -> Never {
        let program = String(ChildArguments.basename(arguments[0]))
        MasterLog.start(program: program)
        let command = parse(arguments, program: program)
        let configDirectory = getenv("MAIL_CONFIG").map { String(cString: $0) } ?? "/etc/postfix"
        let main: MainConfig
        let settings: MasterSettings
        do {
            main = try MainConfig.load(configDirectory: configDirectory)
            settings = try MasterSettings.load(main)
        } catch {
            MasterLog.fatal("\(error)")
        }
        guard let type = command.type else { MasterLog.fatal("no transport type specified") }
        let split = PluginWorker.splitArguments(command.overrides)
        let pluginPath = pluginFile(named: split.overrides.last { $0.0 == "mailhost_plugin" }?.1,
                                    default: settings.pluginDirectory + "/" + program)
        let entry = MasterEntry(name: command.name.isEmpty ? program : command.name, type: type,
                                isPrivate: false, unprivileged: command.unprivileged, chroot: command.chroot,
                                wakeupTime: 0, wakeupConditional: false, processLimit: 0, command: program,
                                arguments: command.overrides + command.operands, line: 0, fields: [],
                                canonicalName: command.name, addresses: [])
        let generation = getenv("GENERATION").flatMap { UInt32(String(cString: $0), radix: 8) } ?? 0
        let stress = split.overrides.last { $0.0 == "stress" }?.1 == "yes"
        let spec = PluginWorkerSpec(entry: entry, path: pluginPath, main: main, settings: settings,
                                    generation: generation, stressActive: stress,
                                    inetServices: inetServices(main, configDirectory: configDirectory))
        let listeners = (0..<command.socketCount).map { Spawner.firstListenFD + Int32($0) }
        PluginWorker.run(spec, descriptors: ChildDescriptors(flowRead: 3, flowWrite: 4, status: 5, listeners: listeners))
    }

    /// master.cf's inet services for send_trigger, read before any chroot.
    /// A master.cf this process cannot read costs only those triggers: the
    /// master that started us has validated it.
    private static func inetServices(_ main: MainConfig, configDirectory: String) -> [String: [ResolvedAddress]] {
        do {
            let options = try MasterParseOptions(main: main)
            return try MasterConfig.load(configDirectory: configDirectory, options: options).inetServicesByName
        } catch {
            MasterLog.warning("cannot read \(configDirectory)/master.cf: \(error) -- send_trigger reaches unix and fifo services only")
            return [:]
        }
    }

    /// The file to load: a named .so or .la as given, else a base name
    /// resolved .la first (a missing file is refused when loaded).
    private static func pluginFile(named name: String?, default base: String) -> String {
        if let name, name.hasSuffix(".so") || name.hasSuffix(".la") { return name }
        let base = name ?? base
        return ServiceProgram.pluginFile(base: base) ?? base + ".so"
    }

    /// The Postfix daemon command line; unknown options are fatal as in stock.
    static func parse(_ arguments: [String], program: String) -> Command {
        var command = Command()
        var index = 1
        let withValue: Set<Character> = ["i", "m", "n", "o", "r", "s", "t"]
        while index < arguments.count, arguments[index].hasPrefix("-"), arguments[index] != "-" {
            if arguments[index] == "--" { index += 1; break }
            var letters = Array(arguments[index].dropFirst())
            while !letters.isEmpty {
                let letter = letters.removeFirst()
                var value: String?
                if withValue.contains(letter) {
                    if letters.isEmpty {
                        index += 1
                        guard index < arguments.count else { MasterLog.fatal("option requires an argument -- '\(letter)'") }
                        value = arguments[index]
                    } else {
                        value = String(letters)
                        letters = []
                    }
                }
                apply(letter, value ?? "", to: &command)
            }
            index += 1
        }
        command.operands = Array(arguments[index...])
        return command
    }

    private static func apply(_ letter: Character, _ value: String, to command: inout Command) {
        switch letter {
        case "c": command.chroot = true
        case "u": command.unprivileged = true
        case "n": command.name = value
        case "o": command.overrides += ["-o", value]
        case "i": command.overrides += ["-o", "max_idle=" + value]
        case "m": command.overrides += ["-o", "max_use=" + value]
        case "s":
            guard let count = Int(value), count > 0 else { MasterLog.fatal("invalid socket_count: \(value)") }
            command.socketCount = count
        case "t":
            guard let type = ServiceType(rawValue: value) else { MasterLog.fatal("unsupported transport type: \(value)") }
            command.type = type
        case "d", "D", "l", "r", "S", "v", "V", "z": break
        default: MasterLog.fatal("invalid option: \(letter)")
        }
    }
}
