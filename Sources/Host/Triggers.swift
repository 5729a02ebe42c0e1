// Triggers.swift - one-shot triggers from a plugin worker to another service.
//
// As Postfix's mail_trigger: the service path (relative to the queue
// directory, e.g. "public/qmgr") is a FIFO or a UNIX socket; the data is
// written in one go and the connection closed. Blocking, bounded by a
// 10-second send timeout (trigger_timeout's default).

import Glibc

enum Triggers {
    static func send(to path: String, _ data: [UInt8]) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        if (info.st_mode & S_IFMT) == S_IFIFO {
            let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { return false }
            defer { close(fd) }
            return write(fd, data, data.count) == data.count
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = UnixAddress(path: path)
        guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else { return false }
        return write(fd, data, data.count) == data.count
    }
}
