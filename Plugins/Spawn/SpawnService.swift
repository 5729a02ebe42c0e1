// SpawnService.swift - spawn(8) as a plugin: for each connection, runs the
// command of the service's argv= attribute with the connection on its
// standard input, output and error, as the user= attribute, within
// $<service>_time_limit (default $command_time_limit), with the environment
// filtered through export_environment. One command at a time per process
// (single model), as spawn(8). The master.cf entry is spawn(8)'s:
//     policy unix - n n - 0 spawn user=nobody argv=/usr/local/bin/policy
import Glibc
import PluginAPI

final class SpawnService: SingleServer {
    static let name = "spawn"
    static let version = "1.0"

    /// Read on the first connection, as spawn(8) does; a problem is fatal.
    private var attributes: SpawnAttributes?
    private let timeLimit: Int64
    private let exportList: String
    private let owner: (uid: uid_t, gid: gid_t)

    init(host: ServiceHost) throws {
        let ownerName = host.string("mail_owner", default: "postfix")
        guard let pw = getpwnam(ownerName) else { host.fatal("unknown mail_owner user: \(ownerName)") }
        owner = (pw.pointee.pw_uid, pw.pointee.pw_gid)
        let commandLimit = host.time("command_time_limit", default: "1000s")
        let name = host.serviceName + "_time_limit"
        timeLimit = host.time(name, default: "\(commandLimit)s")
        if timeLimit < 1 { host.fatal("invalid \(name) parameter value \(timeLimit) < 1") }
        exportList = host.string("export_environment", default: "TZ MAIL_CONFIG LANG")
        dropPrivileges()
    }

    /// Like spawn(8): run as mail_owner between commands, keeping root as
    /// the saved uid for the command's identity switch.
    private func dropPrivileges() {
        guard geteuid() == 0 else { return }
        _ = setegid(owner.gid)
        _ = seteuid(owner.uid)
    }

    func serve(client: Client, host: ServiceHost) throws {
        let attributes = try currentAttributes(host)
        let runner = CommandRunner(
            argv: attributes.argv,
            environment: ExportEnvironment.build(list: exportList, lookup: ExportEnvironment.current),
            uid: attributes.uid, gid: attributes.gid, timeLimit: timeLimit)
        let command = attributes.argv.first ?? ""
        let outcome = try runner.run(on: client.fd, failure: { host.fatal("spawn_command: \($0)") }, timedOut: { pid in
            host.warning("\(command): process id \(pid): command time limit exceeded")
        })
        report(outcome, command: command, host: host)
    }

    private func currentAttributes(_ host: ServiceHost) throws -> SpawnAttributes {
        if let attributes { return attributes }
        do {
            let parsed = try SpawnAttributes.parse(host.arguments, owner: owner)
            attributes = parsed
            return parsed
        } catch {
            host.fatal("\(error)")
        }
    }

    private func report(_ outcome: CommandRunner.Outcome, command: String, host: ServiceHost) {
        switch outcome {
        case .exited(0):
            break
        case .exited(let status):
            host.warning("command \(command) exit status \(status)")
        case .signaled(let signal):
            host.warning("command \(command) killed by signal \(signal)")
        case .timedOut(_, let ended):
            report(ended, command: command, host: host)
        }
    }
}
