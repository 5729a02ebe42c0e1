// SocketAddress.swift - sockaddr values built from Swift strings.
//
// Guarantees: a UNIX path longer than sun_path is reported, never truncated
// silently; a name in the abstract namespace ('@' then the name, as
// NOTIFY_SOCKET spells it) has exactly its own length, with no trailing NUL
// bytes that would become part of it; inet addresses are built from numeric strings only (names were
// resolved by the configuration library).

import Glibc
import PostfixConfig

package struct UnixAddress {
    private var storage = sockaddr_un()
    private var length = socklen_t(MemoryLayout<sockaddr_un>.size)
    package let fits: Bool

    package init(path: String) {
        self.init(bytes: Array(path.utf8), room: 1)
    }

    /// A path, or with a leading '@' a name in the abstract namespace.
    package init(pathOrAbstractName name: String) {
        guard name.hasPrefix("@") else {
            self.init(path: name)
            return
        }
        let bytes = [0] + Array(name.utf8.dropFirst())
        self.init(bytes: bytes, room: 0)
        length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + min(bytes.count, capacity))
    }

    private var capacity: Int { MemoryLayout.size(ofValue: storage.sun_path) }

    /// `room`: bytes sun_path must keep free after the name (a path's NUL).
    private init(bytes: [UInt8], room: Int) {
        storage.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        fits = bytes.count + room <= capacity
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            for (index, byte) in bytes.prefix(capacity - room).enumerated() {
                raw[index] = byte
            }
        }
    }

    package mutating func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        let length = self.length
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// An IPv4 or IPv6 socket address with a port.
package struct InetAddress {
    private var storage = sockaddr_storage()
    private(set) var length: socklen_t = 0
    let family: Int32

    package init?(family: Int32, host: String, port: UInt16) {
        self.family = family
        if family == AF_INET {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &sin.sin_addr) == 1 else { return nil }
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if family == AF_INET6 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1 else { return nil }
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            return nil
        }
    }

    package init?(_ resolved: ResolvedAddress) {
        self.init(family: resolved.family, host: resolved.host, port: resolved.port)
    }

    package mutating func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        let length = self.length
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}

/// strerror(errno) as a Swift string, for "%m"-style messages.
package func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// Marks a descriptor close-on-exec and/or non-blocking.
@discardableResult
package func setDescriptorFlags(_ fd: Int32, closeOnExec: Bool = true, nonBlocking: Bool) -> Bool {
    if closeOnExec {
        let flags = fcntl(fd, F_GETFD)
        if flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0 { return false }
    }
    let status = fcntl(fd, F_GETFL)
    if status < 0 { return false }
    let wanted = nonBlocking ? (status | O_NONBLOCK) : (status & ~O_NONBLOCK)
    return fcntl(fd, F_SETFL, wanted) >= 0
}
