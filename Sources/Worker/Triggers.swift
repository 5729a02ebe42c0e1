// Triggers.swift - one-shot triggers from a plugin worker to another service.
//
// As Postfix's mail_trigger: a service path relative to the queue directory
// ("public/qmgr", "private/x") is a FIFO or a UNIX socket; any other name is
// a master.cf inet service, reached over TCP at its first listen address (a
// wildcard address is reached on loopback). The data is written in one go and
// the connection closed. Blocking, bounded by a 10-second timeout
// (trigger_timeout's default) on connect and write. Failures say why.

import Glibc
import PostfixConfig

enum Triggers {
    enum Outcome: Equatable {
        case sent
        case failed(String)
    }

    static let timeoutSeconds = 10

    static func send(to service: String, _ data: [UInt8], inetServices: [String: [ResolvedAddress]]) -> Outcome {
        if service.contains("/") { return sendLocal(service, data) }
        guard let address = inetServices[service]?.first else {
            return .failed("no such unix or fifo service path, and no master.cf inet service of that name")
        }
        return sendInet(address, data)
    }

    private static func sendLocal(_ path: String, _ data: [UInt8]) -> Outcome {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failed("stat \(path): \(errnoText())") }
        if (info.st_mode & S_IFMT) == S_IFIFO {
            let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { return .failed("open \(path): \(errnoText())") }
            defer { close(fd) }
            return write(fd, data, data.count) == data.count ? .sent : .failed("write \(path): \(errnoText())")
        }
        var address = UnixAddress(path: path)
        return address.withSockaddr { deliver(family: AF_UNIX, $0, $1, data, peer: path) }
    }

    private static func sendInet(_ resolved: ResolvedAddress, _ data: [UInt8]) -> Outcome {
        let host = resolved.host == "0.0.0.0" ? "127.0.0.1" : resolved.host == "::" ? "::1" : resolved.host
        guard var address = InetAddress(family: resolved.family, host: host, port: resolved.port) else {
            return .failed("bad address \(resolved.host) port \(resolved.port)")
        }
        let peer = "\(host):\(resolved.port)"
        return address.withSockaddr { deliver(family: resolved.family, $0, $1, data, peer: peer) }
    }

    private static func deliver(family: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t,
                                _ data: [UInt8], peer: String) -> Outcome {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return .failed("socket: \(errnoText())") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        for option in [SO_SNDTIMEO, SO_RCVTIMEO] {
            _ = setsockopt(fd, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        guard connect(fd, address, length) == 0 else { return .failed("connect \(peer): \(errnoText())") }
        return write(fd, data, data.count) == data.count ? .sent : .failed("write \(peer): \(errnoText())")
    }
}
