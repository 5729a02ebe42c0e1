// main.swift - postfix(1): Postfix control program, native (no postfix-script).
// Reads the instance's main.cf, builds the stock command environment, then
// either hands the command to the multi-instance wrapper (postfix-wrapper(5))
// or runs it itself (PostfixCommands). Exit status and words as stock.

import ChildProcesses
import Glibc
import PostfixConfig
import ToolSupport

umask(0o022)
let program = "postfix"
let selfLog = ToolLog(tag: program)

func die(_ text: String) -> Never {
    selfLog.log(.fatal, text)
    exit(1)
}

if geteuid() != 0 {
    selfLog.log(.error, "to submit mail, use the Postfix sendmail command")
    die("the postfix command is reserved for the superuser")
}

let options: PostfixOptions
do { options = try PostfixOptions.parse(Array(CommandLine.arguments.dropFirst())) } catch {
    if case PostfixOptionError.unknown(let flag) = error {
        fputs("\(CommandLine.arguments.first ?? program): invalid option -- '\(flag)'\n", stderr)
    }
    die("\(error)")
}

var environment = currentEnvironment()
if let dir = options.configDirectory { environment = setting("MAIL_CONFIG", dir, in: environment) }
if options.debug { environment = setting("MAIL_DEBUG", "", in: environment) }
let explicitConfig = lookup("MAIL_CONFIG", in: environment)
let configDirectory = explicitConfig ?? "/etc/postfix"

let settings: InstanceSettings
let commandEnv: [String]
do {
    settings = try InstanceSettings(configDirectory: configDirectory)
    try MaillogSettings.check(settings)
    try ToolLog.configure(settings)
    commandEnv = try settings.commandEnvironment(from: environment)
} catch { die("\(error)") }

if let level = try? settings.value("compatibility_level"),
   let current = CompatibilityLevel(level), let modern = CompatibilityLevel("3.6"), current < modern {
    for line in ["Postfix is using backwards-compatible default settings",
                 "See http://www.postfix.org/COMPATIBILITY_README.html for details",
                 "To disable backwards compatibility use \"postconf compatibility_level=3.6\" and \"postfix reload\""] {
        selfLog.info(line)
    }
}

// Multi-instance: the default instance names other instances and no
// MAIL_CONFIG was given, so the wrapper handles every instance.
let instances = (try? settings.list("multi_instance_directories")) ?? []
if explicitConfig == nil && !instances.isEmpty {
    let wrapper = splitWords((try? settings.value("multi_instance_wrapper")) ?? "")
    if wrapper.isEmpty { die("multi-instance support is requested, but multi_instance_wrapper is empty") }
    let failure = ChildProcess.exec(wrapper + options.command, env: commandEnv, searchPath: true)
    die("\(failure)")
}

guard chdir(settings.queueDirectory) == 0 else {
    die("chdir(\(settings.queueDirectory)): \(String(cString: strerror(errno)))")
}

let tag = ((try? settings.value("syslog_name")) ?? "postfix") + "/postfix-script"
let defaultMain = try? InstanceSettings(configDirectory: "/etc/postfix")
let primaryList = (try? defaultMain?.list("multi_instance_directories")) ?? []
let commands = PostfixCommands(settings: settings, env: commandEnv, log: ToolLog(tag: tag),
                               verbose: options.verbose > 0,
                               isSecondary: primaryList.contains(configDirectory),
                               instances: primaryList)
exit(commands.run(options.command))

func splitWords(_ text: String) -> [String] {
    text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
}
