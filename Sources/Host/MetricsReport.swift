// MetricsReport.swift - what the master adds for the metrics plugin: per
// service counters of spawns and abnormal exits (reported on the status
// sockets as `spawns=N exit_signals=SIG:N,... exit_statuses=CODE:N,...`),
// and the second status socket pid/master.metrics, owned by mail_owner.
//
// Why a second socket: pid/master.status is root-only (0600), and the
// metrics service is network-facing, so it runs unprivileged as mail_owner
// (a scrape connects anew each time, so PRE_INIT as root cannot help: the
// master answers one report per connection). The report holds no secret
// (service names, paths, process counts, the master's pid, all visible in
// master.cf and /proc); the second socket is mode 0600 owned by mail_owner,
// so local users other than root and mail_owner still cannot read it, and
// the root-only socket keeps its meaning.
// Guarantees: counters only grow while the service exists (a reload keeps
// them; a service removed by a reload starts again from zero if it comes
// back); an exit counts as abnormal exactly when the master logs a warning
// for it (not killed by the master, non-zero status or a signal).

import Glibc
import CSystem

extension ControlSocket {
    static let metricsPath = "pid/master.metrics"
}

struct ServiceCounters {
    private(set) var spawns = 0
    private(set) var exitsBySignal: [Int32: Int] = [:]
    private(set) var exitsByStatus: [Int32: Int] = [:]

    mutating func spawned() { spawns += 1 }

    mutating func exited(_ status: ExitStatus, killedByMaster: Bool) {
        guard !killedByMaster else { return }
        if cs_wifexited(status.raw) != 0 {
            let code = cs_wexitstatus(status.raw)
            if code != 0 { exitsByStatus[code, default: 0] += 1 }
        } else if cs_wifsignaled(status.raw) != 0 {
            exitsBySignal[cs_wtermsig(status.raw), default: 0] += 1
        }
    }

    /// The report fields, e.g. `spawns=3 exit_signals=11:1 exit_statuses=-`.
    var reportFields: [String] {
        ["spawns=\(spawns)", "exit_signals=" + Self.list(exitsBySignal), "exit_statuses=" + Self.list(exitsByStatus)]
    }

    /// `key:count` pairs in key order, or "-" when there are none.
    private static func list(_ counts: [Int32: Int]) -> String {
        counts.isEmpty ? "-" : counts.keys.sorted().map { "\($0):\(counts[$0] ?? 0)" }.joined(separator: ",")
    }
}
