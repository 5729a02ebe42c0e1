// Actions: `postmulti -e` life-cycle edits done natively with PostconfKit.
// Guarantees: init writes the wrapper and enable settings into the primary
// main.cf; enable/disable/assign require a prior init and an existing
// secondary selected with -i, and edit only that instance's main.cf, keeping
// its comments and layout. create/import/destroy/deport are refused with a
// clear message in this build rather than half-done.

import PostconfKit
import ToolSupport

struct Actions {
    let options: PostmultiOptions
    let instances: [Instance]
    let primary: InstanceSettings
    let scriptLog: ToolLog

    func run(_ action: String) throws -> Int32 {
        if action == "init" {
            try edit(primary.configDirectory, [("multi_instance_wrapper", "${command_directory}/postmulti -p --"),
                                                ("multi_instance_enable", "yes")])
            return 0
        }
        guard let selector = options.instance else { throw PostmultiError("Select an instance via '-i name'") }
        guard let target = instances.first(where: { $0.matches(selector) }) else {
            throw PostmultiError("No instance named \(selector)")
        }
        switch action {
        case "enable", "disable":
            try requireInit()
            try edit(target.configDirectory, [("multi_instance_enable", action == "enable" ? "yes" : "no")])
        case "assign":
            var pairs: [(String, String)] = []
            if let n = options.newName, n != (target.name ?? "-") { pairs.append(("multi_instance_name", n == "-" ? "" : n)) }
            if let g = options.newGroup, g != (target.group ?? "-") { pairs.append(("multi_instance_group", g == "-" ? "" : g)) }
            if pairs.isEmpty { return 0 }
            if let n = options.newName, n != "-", !n.hasPrefix("postfix-") {
                throw PostmultiError("New instance name must start with 'postfix-'")
            }
            try requireInit()
            try edit(target.configDirectory, pairs)
        default:
            throw PostmultiError("action '\(action)' is not implemented in this build; use /usr/sbin/postmulti")
        }
        return 0
    }

    /// postmulti-script's precondition for every action but init.
    func requireInit() throws {
        if ((try? primary.value("multi_instance_wrapper")) ?? "").isEmpty {
            scriptLog.fatal("multi_instance_wrapper is empty, run 'postmulti -e init' first.")
            throw ScriptExit()
        }
        if ((try? primary.value("multi_instance_enable")) ?? "") != "yes" {
            scriptLog.fatal("multi_instance_enable!=yes, run 'postmulti -e init' first.")
            throw ScriptExit()
        }
    }

    func edit(_ dir: String, _ pairs: [(String, String)]) throws {
        let path = dir + "/main.cf"
        do {
            guard let old = try AtomicFile.readIfPresent(path) else {
                throw PostmultiError("open \(path) for reading: No such file or directory")
            }
            try AtomicFile.replace(path, with: MainCfEditor.apply(.set(pairs), to: old))
        } catch let e as FileError { throw PostmultiError(e.description) }
    }
}

/// The script part failed and already said why.
struct ScriptExit: Error {}
