// ServiceStatus: `postfix status services` and `postfix status services-raw`,
// beyond stock: per service, how many processes exist, how many are busy,
// whether it is throttled and when its next wakeup is, as our master reports
// them on its control socket $queue_directory/pid/master.status.
// Guarantees: the socket is read as SocketReport reads (EOF, 1 MiB, 5 s); the raw
// form prints the master's lines unchanged; the table form prints one header
// and one row per service line, columns aligned; a master without the socket
// (stock master) is reported as such and the status is 1.

#if canImport(Glibc)
import Glibc
#endif
import ToolSupport

struct ServiceStatus {
    let queueDirectory: String

    var socketPath: String { queueDirectory + "/pid/master.status" }

    /// The report text, or why there is none.
    func read() throws(SocketReport.Failure) -> String {
        String(decoding: try SocketReport.read(socketPath), as: UTF8.self)
    }

    /// "key=value" fields of one report line, after its first word.
    static func fields(_ line: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for word in line.split(separator: " ").dropFirst() {
            guard let eq = word.firstIndex(of: "=") else { continue }
            result[String(word[..<eq])] = String(word[word.index(after: eq)...])
        }
        return result
    }

    static let columns = [("SERVICE", "service"), ("PROGRAM", "program"), ("LIMIT", "limit"), ("TOTAL", "total"),
                          ("BUSY", "busy"), ("THROTTLED", "throttled"), ("WAKEUP", "wakeup"), ("PATH", "path")]

    /// The human-readable table.
    static func table(_ report: String) -> String {
        var out: [String] = []
        var rows: [[String]] = [columns.map(\.0)]
        for line in report.split(separator: "\n") {
            let f = fields(line)
            if line.hasPrefix("master ") {
                out.append("master: PID \(f["pid"] ?? "?"), version \(f["version"] ?? "?"), config \(f["config"] ?? "?"), generation \(f["generation"] ?? "?")")
            } else if line.hasPrefix("service ") {
                rows.append(columns.map { column in
                    switch column.1 {
                    case "service": return (f["name"] ?? "?") + "/" + (f["type"] ?? "?")
                    case "wakeup": return f["wakeup"].map { $0 == "-" ? "-" : $0 + "s" } ?? "?"
                    default: return f[column.1] ?? "?"
                    }
                })
            }
        }
        out += SocketReport.aligned(rows)
        return out.joined(separator: "\n") + "\n"
    }
}
