// main.swift - postmulti(1): Postfix multi-instance manager, native.
// Lists (-l), iterates postfix(1) (-p) or any command (-x) over instances, and
// performs the -e life-cycle actions that Actions implements. Refusals and
// exit statuses as stock.

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

do {
    let options = try PostmultiOptions.parse(Array(CommandLine.arguments.dropFirst()))
    let instances = try InstanceList.load(primaryDirectory: defaultConfig)
    let primary = instances[0].settings
    let iterator = Iterator(options: options, instances: instances, primary: primary)
    if options.list { exit(iterator.list()) }
    if let action = options.action {
        let tag = ((try? primary.value("syslog_name")) ?? "postfix") + "/postmulti-script"
        exit(try Actions(options: options, instances: instances, primary: primary, scriptLog: ToolLog(tag: tag)).run(action))
    }
    exit(try iterator.run())
} catch is ScriptExit {
    exit(1)
} catch {
    die("\(error)")
}
