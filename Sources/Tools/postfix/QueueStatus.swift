// QueueStatus: `postfix status queues [-j | --json]`, beyond stock: what the
// mailhost qmgr plugin reports on its root-only query socket
// $queue_directory/pid/qmgr.query (QmgrQuery.QueryDocument has the schema):
// the active queue's occupancy, per transport and per destination the
// concurrency window, busy and todo counts, throttled sites with the reason
// and retry time, rate-delay and rate-limit state, and the preemptive
// scheduler's jobs.
// Guarantees: -j/--json prints the document exactly as received (one line);
// the table form prints the occupancy line and three aligned tables
// (transports, destinations, jobs) with times as local clock time and
// seconds from the report's time; a missing or refused socket (stock qmgr,
// or no qmgr running) is reported naming the socket path, status 1; a
// malformed document or an unknown version is an error naming the path.

#if canImport(Glibc)
import Glibc
#endif
import QmgrQuery

struct QueueStatus {
    let queueDirectory: String

    var socketPath: String { QuerySocket.path(queueDirectory: queueDirectory) }

    static let usage = "usage: postfix status queues [-j | --json]"

    enum Failure: Error, CustomStringConvertible {
        case malformed(String, JSONParseError)
        case version(String, String)

        var description: String {
            switch self {
            case .malformed(let path, let error): return "query report from \(path): \(error)"
            case .version(let path, let version):
                return "query report from \(path) has version \(version); this postfix reads version \(QueryDocument.version)"
            }
        }
    }

    func read() throws(SocketReport.Failure) -> [UInt8] {
        try SocketReport.read(socketPath, maximumBytes: 64 << 20, seconds: 10)
    }

    /// The human-readable form of a document read from the socket.
    func table(_ bytes: [UInt8]) throws(Failure) -> String {
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch { throw Failure.malformed(socketPath, error) }
        guard document["version"]?.int == QueryDocument.version else {
            throw Failure.version(socketPath, document["version"].map(\.text) ?? "none")
        }
        return QueueTable(document).text
    }
}

/// The three tables of a version 1 document.
struct QueueTable {
    let document: JSONValue
    let generated: Double

    init(_ document: JSONValue) {
        self.document = document
        generated = document["generated"]?.number ?? 0
    }

    var transports: [JSONValue] { document["transports"]?.array ?? [] }

    var text: String {
        var lines = [occupancy, ""]
        lines += SocketReport.aligned(transportRows)
        lines.append("")
        lines += SocketReport.aligned(destinationRows)
        lines.append("")
        lines += SocketReport.aligned(jobRows)
        return lines.joined(separator: "\n") + "\n"
    }

    var occupancy: String {
        let active = document["active"]
        return "active queue: \(int(active?["messages"]))/\(int(active?["message_limit"])) messages, "
            + "\(int(active?["recipients"]))/\(int(active?["recipient_limit"])) recipients (at \(clock(generated)))"
    }

    var transportRows: [[String]] {
        [["TRANSPORT", "STATE", "LIMIT", "BUSY", "PENDING", "TODO", "RETRY", "REASON"]]
            + transports.map { t in
                let todo = (t["destinations"]?.array ?? []).reduce(0) { $0 + (($1["todo"]?.int) ?? 0) }
                let state = t["dead_reason"]?.string != nil ? "throttled" : t["rate_locked"]?.bool == true ? "rate-delay" : "ready"
                return [str(t["name"]), state, int(t["concurrency_limit"]), int(t["busy"]), int(t["pending"]), "\(todo)",
                        when(t["retry_at"]), t["dead_reason"]?.string ?? "-"]
            }
    }

    var destinationRows: [[String]] {
        var rows = [["DESTINATION", "STATE", "WINDOW", "BUSY", "TODO", "RETRY", "RATE", "REASON"]]
        for t in transports {
            for d in t["destinations"]?.array ?? [] {
                rows.append([str(t["name"]) + ":" + str(d["name"]), str(d["state"]),
                             int(d["window"]) + "/" + int(t["concurrency_limit"]), int(d["busy"]),
                             int(d["todo"]) + " (" + int(d["todo_recipients"]) + " rcpt)", when(d["retry_at"]), rate(d),
                             d["dead_reason"]?.string ?? "-"])
            }
        }
        return rows
    }

    var jobRows: [[String]] {
        var rows = [["JOB", "TRANSPORT", "ROLE", "SLOTS", "ENTRIES", "RECIPIENTS"]]
        for t in transports {
            for j in t["jobs"]?.array ?? [] {
                var role: [String] = []
                if j["current"]?.bool == true { role.append("current") }
                if j["blocker"]?.bool == true { role.append("blocker") }
                if let victim = j["preempts"]?.string { role.append("preempts " + victim) }
                if (j["stack_level"]?.int ?? 0) > 0 { role.append("level " + int(j["stack_level"])) }
                rows.append([str(j["queue_id"]), str(t["name"]), role.isEmpty ? "-" : role.joined(separator: ","),
                             int(j["slots_used"]) + "/" + int(j["slots_available"]),
                             int(j["selected_entries"]) + "/" + int(j["read_entries"]),
                             int(j["recipients"]) + "/" + int(j["recipient_limit"])])
            }
        }
        return rows
    }

    /// The destination's rate delay or rate limit, "-" without either.
    func rate(_ d: JSONValue) -> String {
        if d["rate_delay_until"]?.number != nil { return "delay until " + when(d["rate_delay_until"]) }
        guard let tokens = d["rate_limit_tokens"]?.int else { return "-" }
        let next = d["next_token_at"]?.number != nil ? ", next " + when(d["next_token_at"]) : ""
        return "\(tokens) tokens" + next
    }

    func str(_ v: JSONValue?) -> String { v?.string ?? "?" }
    func int(_ v: JSONValue?) -> String { v?.int.map(String.init) ?? "?" }

    /// "HH:MM:SS (+Ns)" for a Unix time, "-" for null.
    func when(_ v: JSONValue?) -> String {
        guard let t = v?.number else { return "-" }
        let delta = Int((t - generated).rounded())
        return clock(t) + " (" + (delta >= 0 ? "+" : "") + "\(delta)s)"
    }

    func clock(_ t: Double) -> String {
        var seconds = time_t(t)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "?" }
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%H:%M:%S", &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
