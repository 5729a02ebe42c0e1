// Listeners.swift - creates the listening endpoints of a master.cf service.
//
// unix and pass: stream sockets, unix-dgram: datagram sockets, both bound
// (stale path unlinked first) as mail_owner and chmod 0666; fifo: mkfifo as
// mail_owner, mode 0622, opened read-write non-blocking with stale data
// drained; inet: one TCP socket per resolved address, with SO_REUSEADDR,
// SO_REUSEPORT and IPV6_V6ONLY. Every descriptor is non-blocking and
// close-on-exec. Paths are relative to the cwd (queue_directory). On error
// nothing is left open and the message names the endpoint as stock does.

import Glibc
import PostfixConfig

struct ListenError: Error {
    let message: String
}

enum Listeners {
    static func open(_ entry: MasterEntry, backlog: Int32, owner: MailOwner?) throws -> [Int32] {
        switch entry.type {
        case .unix, .pass:
            return [try unixSocket(entry.canonicalName, kind: SOCK_STREAM, backlog: backlog, owner: owner)]
        case .unixDgram:
            return [try unixSocket(entry.canonicalName, kind: SOCK_DGRAM, backlog: nil, owner: owner)]
        case .fifo:
            return [try fifo(entry.canonicalName, owner: owner)]
        case .inet:
            var fds: [Int32] = []
            do {
                for address in entry.addresses {
                    fds.append(try inetSocket(address, backlog: backlog))
                }
            } catch {
                fds.forEach { close($0) }
                throw error
            }
            if fds.isEmpty {
                throw ListenError(message: "no valid IP address found: \(entry.name)")
            }
            return fds
        }
    }

    static func closeAll(_ fds: [Int32]) {
        for fd in fds { close(fd) }
    }

    // MARK: UNIX domain

    private static func unixSocket(_ path: String, kind: __socket_type, backlog: Int32?,
                                   owner: MailOwner?) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(kind.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw ListenError(message: "socket: \(errnoText())") }
        var address = UnixAddress(path: path)
        guard address.fits else {
            close(fd)
            throw ListenError(message: "unix-domain name too long: \(path)")
        }
        let failure: String? = withOwner(owner) {
            _ = unlink(path)
            if address.withSockaddr({ bind(fd, $0, $1) }) < 0 {
                return "bind: \(path): \(errnoText())"
            }
            return nil
        }
        if let failure {
            close(fd)
            throw ListenError(message: failure)
        }
        if chmod(path, 0o666) < 0 {
            let text = errnoText()
            close(fd)
            throw ListenError(message: "fchmod socket \(path): \(text)")
        }
        if let backlog, listen(fd, backlog) < 0 {
            let text = errnoText()
            close(fd)
            throw ListenError(message: "listen: \(text)")
        }
        return fd
    }

    // MARK: FIFO

    private static func fifo(_ path: String, owner: MailOwner?) throws -> Int32 {
        let result: Result<Int32, ListenError> = withOwner(owner) {
            if mkfifo(path, 0o622) < 0 && errno != EEXIST {
                return .failure(ListenError(message: "mkfifo: \(path): \(errnoText())"))
            }
            let fd = Glibc.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
            if fd < 0 {
                return .failure(ListenError(message: "open: \(path): \(errnoText())"))
            }
            return .success(fd)
        }
        let fd = try result.get()
        // umask 077 narrowed the mkfifo mode: clients (postdrop) need write access.
        _ = fchmod(fd, 0o622)
        drainStaleData(fd)
        return fd
    }

    private static func drainStaleData(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while read(fd, &buffer, buffer.count) > 0 {}
    }

    // MARK: TCP

    private static func inetSocket(_ resolved: ResolvedAddress, backlog: Int32) throws -> Int32 {
        guard var address = InetAddress(resolved) else {
            throw ListenError(message: "bad address: \(resolved.host)")
        }
        let fd = socket(resolved.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw ListenError(message: "socket: \(errnoText())") }
        var on: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, size)
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, size)
        if resolved.family == AF_INET6 {
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, size)
        }
        if address.withSockaddr({ bind(fd, $0, $1) }) < 0 {
            let text = errnoText()
            close(fd)
            throw ListenError(message: "bind \(resolved.host) port \(resolved.port): \(text)")
        }
        if listen(fd, backlog) < 0 {
            let text = errnoText()
            close(fd)
            throw ListenError(message: "listen: \(text)")
        }
        return fd
    }

    private static func withOwner<R>(_ owner: MailOwner?, _ body: () -> R) -> R {
        if let owner { return owner.asUser(body) }
        return body()
    }
}
