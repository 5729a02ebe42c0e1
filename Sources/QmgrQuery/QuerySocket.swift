// QuerySocket: where the qmgr's query interface listens, and how the
// listening socket is made.
//
// The socket is $queue_directory/pid/qmgr.query, next to the master's
// pid/master.status, owned by root with mode 0600: only root can connect
// (connect(2) on a UNIX socket needs write permission on the file), so an
// unprivileged local user, and the mail_owner too, cannot read the report.
// pid/ is root's directory (root:root 0755 on Debian), which is why the
// socket is made by the qmgr worker in PRE_INIT, still root, before the
// privilege drop: the listening descriptor keeps working after setuid(2),
// because accept(2) checks no file permission. After the drop the worker
// can no longer remove the file, so it is left behind when the qmgr exits
// (connecting then fails with ECONNREFUSED) and replaced by the next qmgr's
// PRE_INIT. Guarantees of `listen`: the previous file is removed, the new
// one never exists with a mode wider than 0600, the descriptor is
// non-blocking and close-on-exec; any failure is an error naming the path.

import Glibc

public enum QuerySocket {
    /// Relative to $queue_directory (the working directory of the master and its workers).
    public static let relativePath = "pid/qmgr.query"
    /// Connections waiting to be accepted.
    static let backlog: Int32 = 16

    public static func path(queueDirectory: String) -> String { queueDirectory + "/" + relativePath }

    /// A listening socket at `path` (mode 0600, owned by the caller's
    /// effective uid, which should be root).
    public static func listen(path: String = relativePath) throws(QueryError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw QueryError(path: path, step: "socket", errno: errno) }
        do throws(QueryError) {
            var address = try UnixSocketAddress(path: path)
            if unlink(path) < 0 && errno != ENOENT { throw QueryError(path: path, step: "unlink", errno: errno) }
            // The file is created with 0777 & ~umask: 0600 from the start, no window.
            let saved = umask(0o177)
            let bound = address.withSockaddr { Glibc.bind(fd, $0, $1) }
            let bindErrno = errno
            umask(saved)
            guard bound == 0 else { throw QueryError(path: path, step: "bind", errno: bindErrno) }
            guard Glibc.listen(fd, backlog) == 0 else { throw QueryError(path: path, step: "listen", errno: errno) }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}

/// A failed socket operation on the query socket.
public struct QueryError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let step: String
    public let errno: Int32
    public var description: String { "\(path): \(step): \(String(cString: strerror(errno)))" }
}

/// sockaddr_un for a path that fits.
struct UnixSocketAddress {
    private var storage = sockaddr_un()

    init(path: String) throws(QueryError) {
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: storage.sun_path), !bytes.contains(0) else {
            throw QueryError(path: path, step: "address", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    mutating func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
