// ServiceStatus: `postfix status services` and `postfix status services-raw`,
// beyond stock: per service, how many processes exist, how many are busy,
// whether it is throttled and when its next wakeup is, as our master reports
// them on its control socket $queue_directory/pid/master.status.
// Guarantees: the socket is read until EOF, at most 1 MiB and 5 s; the raw
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

    enum Failure: Error { case absent(String), unreadable(String) }

    /// The report text, or why there is none.
    func read() throws -> String {
        guard ToolFiles.exists(socketPath) else { throw Failure.absent(socketPath) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.unreadable("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure.unreadable("\(socketPath): path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.enumerated() { raw[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw Failure.unreadable("connect \(socketPath): \(String(cString: strerror(errno)))") }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        for _ in 0..<128 {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
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
        let widths = columns.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            out.append(cells.joined(separator: "  "))
        }
        return out.joined(separator: "\n") + "\n"
    }
}
