// ValidationChild.swift - PluginValidator's child: load one plugin, report as text lines.
//
// Runs in a short-lived child the master forks for each plugin file (the
// batch and its deadline are the master's, in Sources/Host). Before any
// plugin code can run (library constructors included) the child keeps only
// stdio and its report pipe, as descriptor 3: every master descriptor is
// closed. It then loads the plugin exactly as a worker does
// (PluginLoader.loadChecked: file checks, then ABI checks), writes "ok MODEL
// NAME VERSION" or one "refused REASON" line per problem, and exits; `parse`
// reads that report back in the master, so both ends of the format are here.

import Glibc
import CSystem
import MasterProtocol

package enum PluginValidator {
    /// The outcome: problems that make the plugin unusable (none when it
    /// may run) and, when it loaded, its server model.
    package struct Result {
        package var problems: [String]
        package var model: UInt32 = 0

        package init(problems: [String], model: UInt32 = 0) {
            self.problems = problems
            self.model = model
        }
    }

    // MARK: child side

    /// The descriptor the report is written to in the child.
    package static let reportFD: Int32 = 3

    /// Runs in the child of cs_fork(), which has given it default signal
    /// actions: a fault in plugin code ends only this process.
    package static func runChild(path: String, reportPipe: Int32) -> Never {
        keepOnlyReportPipe(reportPipe)
        let lines: [String]
        switch PluginLoader.loadChecked(path) {
        case .refused(let problems):
            lines = problems.map { "refused " + oneLine($0) }
        case .loaded(_, let info):
            lines = ["ok \(info.model) \(oneLine(info.name)) \(oneLine(info.version))"]
        }
        let text = lines.joined(separator: "\n") + "\n"
        _ = text.withCString { write(reportFD, $0, strlen($0)) }
        cs_exit_now(0)
    }

    /// Closes every inherited descriptor but stdio and the report pipe.
    private static func keepOnlyReportPipe(_ pipe: Int32) {
        // syslog(3) keeps a socket; a plugin that logs must not write to
        // whatever later reuses that descriptor number.
        cs_closelog()
        if pipe != reportFD && dup2(pipe, reportFD) < 0 { cs_exit_now(1) }
        _ = fcntl(reportFD, F_SETFD, FD_CLOEXEC)
        cs_close_from(reportFD + 1)
    }

    private static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }

    /// The master reads a child's report back with this.
    package static func parse(_ text: String) -> Result {
        let lines = text.split(separator: "\n").map(String.init)
        if let first = lines.first, first.hasPrefix("ok ") {
            let model = first.split(separator: " ").dropFirst().first.flatMap { UInt32($0) } ?? 0
            return Result(problems: [], model: model)
        }
        let refusals = lines.filter { $0.hasPrefix("refused ") }.map { String($0.dropFirst("refused ".count)) }
        return Result(problems: refusals.isEmpty ? [PluginMessages.validatorDied] : refusals)
    }
}
