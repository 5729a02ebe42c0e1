// UnixStreamConnect: the start of a non-blocking connect to a UNIX-domain
// stream socket (a Postfix service such as private/smtp), for a blocking
// client that waits here and for an event-driven one that waits in its
// event loop. The descriptor is close-on-exec and non-blocking; a connect
// still in progress is finished by `pendingError` once it is writable.
// Failures are errno values, never traps; a path longer than sun_path is
// ENAMETOOLONG.
#if canImport(Glibc)
import Glibc
#endif

public enum UnixStreamConnect {
    public enum Start: Equatable, Sendable {
        /// Connected at once (the usual case for a listening UNIX socket).
        case connected(Int32)
        /// The connect completes later: wait until writable, then ask `pendingError`.
        case inProgress(Int32)
    }

    /// Starts connecting to `path`; throws the errno of a connect that failed at once.
    public static func start(_ path: String) throws(SystemErrno) -> Start {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw SystemErrno(ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemErrno(errno) }
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if r == 0 { return .connected(fd) }
        let e = errno
        guard e == EINPROGRESS || e == EAGAIN else {
            Glibc.close(fd)
            throw SystemErrno(e)
        }
        return .inProgress(fd)
    }

    /// The outcome of a connect that was in progress (0: connected).
    public static func pendingError(_ fd: Int32) -> Int32 {
        var soError: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len) == 0 else { return errno }
        return soError
    }
}

/// An errno value as a thrown error, with strerror's text.
public struct SystemErrno: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    public var description: String { SystemError.text(code) }
}
