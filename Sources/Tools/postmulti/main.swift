// main.swift - postmulti(1): Postfix multi-instance manager, native.
// Lists (-l), iterates postfix(1) (-p) or any command (-x) over instances, and
// performs the -e life-cycle actions (Actions). Refusals and exit statuses
// as stock.

import ChildProcesses
import Glibc
import ToolSupport

umask(0o022)
let log = ToolLog(tag: "postmulti")
let defaultConfig = "/etc/postfix"

func die(_ text: String) -> Never {
    log.fatal(text)
    exit(1)
}

if let mc = getenv("MAIL_CONFIG").map({ String(cString: $0) }), mc != defaultConfig {
    die("Non-default configuration directory: MAIL_CONFIG=\(mc)")
}

// Like stock, diagnostics follow the default main.cf's maillog_file.
if let defaults = try? InstanceSettings(configDirectory: defaultConfig) {
    do {
        try MaillogSettings.check(defaults)
        try ToolLog.configure(defaults)
    } catch { die("\(error)") }
}

/// What postmulti-script's environment would be: import_environment applied,
/// $command_directory first in PATH, MAIL_CONFIG naming the primary.
func scriptEnvironment(_ primary: InstanceSettings) -> [String] {
    var env = (try? primary.importedEnvironment(from: currentEnvironment())) ?? []
    let path = lookup("PATH", in: currentEnvironment()) ?? ""
    env = setting("PATH", primary.commandDirectory + ":" + (path.isEmpty ? "/bin:/usr/bin:/sbin:/usr/sbin" : path), in: env)
    return setting("MAIL_CONFIG", primary.configDirectory, in: env)
}

do {
    let options = try PostmultiOptions.parse(Array(CommandLine.arguments.dropFirst()))
    let list = options.action == "init" ? try InstanceList.primaryOnly(defaultConfig)
                                        : try InstanceList.load(primaryDirectory: defaultConfig)
    let primary = list.primarySettings
    let iterator = Iterator(options: options, instances: list.instances, primary: primary)
    if options.list { exit(iterator.list()) }
    if let action = options.action {
        let tag = ((try? primary.value("syslog_name")) ?? "postfix") + "/postmulti-script"
        let edits = InstanceEdits(primary: primary, log: ToolLog(tag: tag), environment: scriptEnvironment(primary))
        var actions = Actions(options: options, list: list, edits: edits)
        exit(try actions.run(action))
    }
    exit(try iterator.run())
} catch is ScriptExit {
    exit(1)
} catch {
    die("\(error)")
}
