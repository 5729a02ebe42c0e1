// PluginWorker.swift - a plugin service process, forked from the master without exec.
//
// Order of work in the child: default signal actions (set by cs_fork: a
// plugin fault must end only this process), descriptors placed as for an executable daemon
// (3/4 flow pipe, 5 status, 6.. listeners) and every other master
// descriptor closed, logging as "<syslog_name>/<command>", plugin loaded and
// its descriptor checked again, PRE_INIT as root, chroot and privilege drop
// as master.cf asks, INIT, then the server skeleton of the plugin's model.

import Glibc
import CSystem
import MailhostPluginABI
import PostfixConfig

/// Everything a worker needs, captured by the master before fork().
package struct PluginWorkerSpec {
    let entry: MasterEntry
    let path: String
    let main: MainConfig
    let settings: MasterSettings
    let generation: UInt32
    let stressActive: Bool
    /// master.cf inet services by name, for send_trigger (a worker may be
    /// chrooted and cannot read master.cf itself).
    var inetServices: [String: [ResolvedAddress]] = [:]

    package init(entry: MasterEntry, path: String, main: MainConfig, settings: MasterSettings,
                 generation: UInt32, stressActive: Bool, inetServices: [String: [ResolvedAddress]] = [:]) {
        self.entry = entry
        self.path = path
        self.main = main
        self.settings = settings
        self.generation = generation
        self.stressActive = stressActive
        self.inetServices = inetServices
    }
}

package enum PluginWorker {
    package static func run(_ spec: PluginWorkerSpec, descriptors: ChildDescriptors) -> Never {
        cs_set_process_name(spec.entry.command)
        Spawner.placeDescriptors(descriptors)
        cs_close_from(Spawner.firstListenFD + Int32(descriptors.listeners.count))
        let split = splitArguments(spec.entry.arguments)
        let config = spec.main.with(overrides: split.overrides + [("stress", spec.stressActive ? "yes" : "")]
                                    + [("service_name", spec.entry.name), ("process_name", spec.entry.command)])
        startLogging(config, spec: spec)
        let descriptor = loadChecked(spec)
        let context = WorkerContext(spec: spec, config: config, arguments: split.arguments,
                                    descriptor: descriptor, listeners: descriptors.listeners.count)
        WorkerContext.shared = context
        context.callInit(PluginCallbacks.preInit, required: false)
        enterJail(spec)
        context.callInit(PluginCallbacks.initialize, required: true)
        context.runSkeleton()
    }

    /// Splits master.cf arguments into `-o name=value` overrides and the rest.
    static func splitArguments(_ arguments: [String]) -> (overrides: [(String, String)], arguments: [String]) {
        var overrides: [(String, String)] = []
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            if arguments[index] == "-o", index + 1 < arguments.count {
                let pair = arguments[index + 1]
                guard let equals = pair.firstIndex(of: "=") else {
                    MasterLog.fatal("invalid \"-o \(pair)\" option value: missing '=' after attribute name")
                }
                overrides.append((trim(pair[..<equals]), trim(pair[pair.index(after: equals)...])))
                index += 2
            } else {
                rest.append(arguments[index])
                index += 1
            }
        }
        return (overrides, rest)
    }

    /// Without reversed collections: their generic metadata would be
    /// instantiated afresh in every forked worker (cold-start time).
    private static func trim(_ text: Substring) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isSpace($0) }),
              let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(text[first...last])
    }

    private static func startLogging(_ config: MainConfig, spec: PluginWorkerSpec) {
        let syslogName = (try? config.value("syslog_name")) ?? spec.settings.syslogName
        // smtputf8_enable as this service sees it (-o applied), as a stock
        // daemon's record filter does; a bad value is fatal, as in stock,
        // once there is a log to say so.
        let utf8 = Result { try config.boolean("smtputf8_enable") }
        MasterLog.configure(syslogName: syslogName, program: spec.entry.command,
                            facility: spec.settings.syslogFacility, sink: spec.settings.logSink,
                            keepsUTF8: (try? utf8.get()) ?? spec.settings.smtputf8Enable, waitsForPostlogd: true)
        if case .failure(let error) = utf8 { MasterLog.fatal("\(error)") }
    }

    /// Loads the plugin through the same file and ABI checks as validation:
    /// the file may have changed since. A refusal ends only this worker.
    private static func loadChecked(_ spec: PluginWorkerSpec) -> UnsafePointer<mh_plugin_descriptor> {
        switch PluginLoader.loadChecked(spec.path) {
        case .refused(let problems):
            let lines = problems.map { PluginMessages.refused(spec.path, $0) }
            lines.dropLast().forEach(MasterLog.error)
            MasterLog.fatal(lines.last ?? PluginMessages.refused(spec.path, "no reason given"))
        case .loaded(let descriptor, _):
            return descriptor
        }
    }

    /// chroot when master.cf says so, then the unprivileged identity.
    private static func enterJail(_ spec: PluginWorkerSpec) {
        if spec.entry.chroot {
            if chroot(spec.settings.queueDirectory) < 0 || chdir("/") < 0 {
                MasterLog.fatal("chroot(\(spec.settings.queueDirectory)): \(errnoText())")
            }
            MasterLog.enteredChroot(spec.settings.queueDirectory)
        }
        guard spec.entry.unprivileged else { return }
        let owner = spec.settings.mailOwner
        var groups = [owner.gid]
        if setgid(owner.gid) < 0 || setgroups(1, &groups) < 0 || setuid(owner.uid) < 0 {
            MasterLog.fatal("set privileges to \(owner.name): \(errnoText())")
        }
    }
}
