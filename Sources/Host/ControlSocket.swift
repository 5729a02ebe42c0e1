// ControlSocket.swift - the master's status sockets: pid/master.status and
// pid/master.metrics.
//
// Beyond stock: UNIX stream sockets created at start-up next to master.pid,
// mode 0600 from their creation (umask), pid/master.status owned by root and
// pid/master.metrics by mail_owner, for the metrics plugin, which runs as
// mail_owner (see MetricsReport.swift). A client connects and reads until EOF; the
// master writes a report of `key=value` lines (Master.statusReport) and
// closes. The report is written without blocking: a client that does not
// read loses the tail, the master never waits for it. When a connection
// cannot be accepted for want of descriptors or memory, the socket is not
// watched for a second (epoll is level-triggered: watching it would spin),
// with one warning per shortage; the client is answered once the resource
// returns.

import Glibc
import CSystem

final class ControlSocket {
    static let path = "pid/master.status"
    private static let pauseSeconds = 1.0
    private let path: String
    private let fd: Int32
    private let loop: EventLoop
    private let report: () -> String
    /// A shortage was reported and no connection was accepted since.
    private var warned = false

    /// A socket at `path` (relative to the queue directory), owned by
    /// `owner` (nil: root).
    init?(loop: EventLoop, path: String = ControlSocket.path, owner: MailOwner? = nil, report: @escaping () -> String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { return nil }
        var address = UnixAddress(path: path)
        _ = unlink(path)
        let saved = umask(0o177)
        let bound = address.withSockaddr({ bind(fd, $0, $1) }) == 0
        umask(saved)
        guard bound, chmod(path, 0o600) == 0, owner.map({ chown(path, $0.uid, $0.gid) == 0 }) ?? true,
              listen(fd, 16) == 0 else {
            MasterLog.warning("status socket \(path): \(errnoText())")
            close(fd)
            return nil
        }
        self.path = path
        self.fd = fd
        self.loop = loop
        self.report = report
        watch()
    }

    private func watch() {
        loop.watchReadable(fd) { [unowned self] _ in self.answer() }
    }

    private func answer() {
        let client = cs_accept_cloexec(fd)
        if client < 0 {
            let code = errno
            if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(code) { pause(code) }
            return
        }
        warned = false
        setDescriptorFlags(client, nonBlocking: true)
        let text = report()
        _ = text.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        close(client)
    }

    private func pause(_ code: Int32) {
        if !warned {
            warned = true
            MasterLog.warning("status socket \(path): accept: \(errnoText(code)) -- retrying every \(Int(ControlSocket.pauseSeconds))s")
        }
        loop.unwatch(fd)
        loop.after(ControlSocket.pauseSeconds) { [unowned self] in self.watch() }
    }
}
