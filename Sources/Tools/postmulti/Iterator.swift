// Iterator: -l, -p and -x over the selected instances.
// Guarantees: selection (-a/-g/-i) and the start/stop/control command classes
// as postmulti(1) documents them; commands run one at a time; the result is 0
// only if every command exited 0.

import ChildProcesses
import Glibc
import ToolSupport

struct Iterator {
    let options: PostmultiOptions
    let instances: [Instance]
    let primary: InstanceSettings

    func selected(_ pool: [Instance]) -> [Instance] {
        if let g = options.group { return pool.filter { $0.group == g } }
        if let i = options.instance { return pool.filter { $0.matches(i) } }
        return pool
    }

    func list() -> Int32 {
        var chosen = selected(instances)
        if options.reverse { chosen.reverse() }
        for inst in chosen {
            print(pad(inst.name ?? "-", 15) + " " + pad(inst.group ?? "-", 15) + " "
                  + pad(inst.enabled ? "y" : "n", 9) + " " + inst.configDirectory)
        }
        return 0
    }

    func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    enum CommandClass { case start, stop, control, other }

    func commandClass(_ word: String) -> CommandClass {
        func has(_ param: String, _ fallback: String) -> Bool {
            ((try? primary.list(param)) ?? fallback.split(separator: " ").map(String.init)).contains(word)
        }
        if has("postmulti_start_commands", "start") { return .start }
        if has("postmulti_stop_commands", "stop abort drain quick-stop") { return .stop }
        if has("postmulti_control_commands", "reload flush") { return .control }
        return .other
    }

    func run() throws -> Int32 {
        let cls = options.wrapper ? commandClass(options.command.first ?? "") : .other
        var pool = instances
        if cls == .stop || cls == .control { pool = pool.filter(\.enabled) }
        var chosen = selected(pool)
        if cls == .stop { chosen.reverse() }
        if options.reverse { chosen.reverse() }
        guard !chosen.isEmpty else { throw PostmultiError("No matching instances") }
        var failed = false
        for inst in chosen {
            var words = options.command
            if cls == .start && !inst.enabled { words[0] = "check" }
            let status: Int32
            if options.wrapper {
                let env = setting("MAIL_CONFIG", inst.configDirectory, in: currentEnvironment())
                status = try ChildProcess.run([primary.commandDirectory + "/postfix", "--"] + words, env: env)
            } else {
                status = try ChildProcess.run(words, env: executeEnvironment(inst))
            }
            if status != 0 { failed = true }
        }
        return failed ? 1 : 0
    }

    func executeEnvironment(_ inst: Instance) -> [String] {
        var env = currentEnvironment()
        let pairs: [(String, String)] = [
            ("MAIL_CONFIG", inst.configDirectory), ("daemon_directory", primary.daemonDirectory),
            ("command_directory", primary.commandDirectory), ("config_directory", inst.configDirectory),
            ("queue_directory", inst.queueDirectory), ("data_directory", inst.dataDirectory),
            ("multi_instance_name", inst.name ?? ""), ("multi_instance_group", inst.group ?? ""),
            ("multi_instance_enable", inst.enabled ? "yes" : "no"),
        ]
        for (k, v) in pairs { env = setting(k, v, in: env) }
        let path = lookup("PATH", in: env) ?? ""
        let cmd = primary.commandDirectory
        return setting("PATH", path.isEmpty ? cmd + ":/bin:/usr/bin:/sbin:/usr/sbin" : cmd + ":" + path, in: env)
    }
}
