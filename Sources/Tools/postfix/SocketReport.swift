// SocketReport: what the beyond-stock status commands share — reading a
// report from a UNIX stream socket that a daemon writes and closes
// (pid/master.status, pid/qmgr.query), and printing rows as aligned columns.
// Guarantees: the socket is read until EOF, at most `maximumBytes` and
// `seconds` per read; a missing file or a socket nobody listens on
// (ECONNREFUSED: a file left by a process that has exited) is `absent`, any
// other failure `unreadable` with the step and errno text.

#if canImport(Glibc)
import Glibc
#endif

enum SocketReport {
    enum Failure: Error, CustomStringConvertible {
        case absent(String)
        case unreadable(String)

        var description: String {
            switch self {
            case .absent(let path): return "no socket at \(path)"
            case .unreadable(let text): return text
            }
        }
    }

    static func read(_ path: String, maximumBytes: Int = 1 << 20, seconds: Int = 5) throws(Failure) -> [UInt8] {
        guard ToolFiles.exists(path) else { throw Failure.absent(path) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.unreadable("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure.unreadable("\(path): path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in pathBytes.enumerated() { raw[i] = b } }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            if errno == ECONNREFUSED || errno == ENOENT { throw Failure.absent(path) }
            throw Failure.unreadable("connect \(path): \(String(cString: strerror(errno)))")
        }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count < maximumBytes {
            let n = recv(fd, &chunk, min(chunk.count, maximumBytes - data.count), 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure.unreadable("read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            data += chunk[0..<n]
        }
        return data
    }

    /// Rows as lines of columns two spaces apart; the last column is not padded.
    static func aligned(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { i in rows.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }
    }
}
