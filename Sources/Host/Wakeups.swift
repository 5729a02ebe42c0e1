// Wakeups.swift - the periodic "W" triggers the master sends to services.
//
// unix: connect to the service socket and write "W\0"; inet: the same over
// TCP (wildcard listeners are reached on loopback); pass: connect and hand
// over the read end of a pipe carrying "W\0"; fifo: write "W" as mail_owner
// without following links; unix-dgram: not supported, reported each time.
// The master never reads a trigger connection: it is closed as soon as the
// peer closes or writes, or after 101 seconds. Nothing here blocks.

import Glibc
import CSystem
import PostfixConfig

final class WakeupSender {
    private let loop: EventLoop
    private static let connectionLifetime = 101.0
    private static let connectTimeout = 1.0

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Sends one wakeup; returns an error text ("%m") on failure.
    func send(to entry: MasterEntry, owner: MailOwner) -> String? {
        switch entry.type {
        case .unix: return sendUnix(entry.canonicalName, passing: false)
        case .pass: return sendUnix(entry.canonicalName, passing: true)
        case .inet: return sendInet(entry)
        case .fifo: return owner.asUser { sendFifo(entry.canonicalName) }
        case .unixDgram: return errnoText(EOPNOTSUPP)
        }
    }

    private func sendFifo(_ path: String) -> String? {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { return errnoText() }
        defer { close(fd) }
        var byte = UInt8(ascii: "W")
        return write(fd, &byte, 1) == 1 ? nil : errnoText()
    }

    private func sendUnix(_ path: String, passing: Bool) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { return errnoText() }
        var address = UnixAddress(path: path)
        if address.withSockaddr({ connect(fd, $0, $1) }) < 0 {
            let text = errnoText()
            close(fd)
            return text
        }
        let failure = passing ? passTrigger(fd) : writeTrigger(fd)
        if let failure {
            close(fd)
            return failure
        }
        holdUntilPeerCloses(fd)
        return nil
    }

    private func sendInet(_ entry: MasterEntry) -> String? {
        guard let first = entry.addresses.first,
              var address = InetAddress(family: first.family, host: reachableHost(first), port: first.port) else {
            return errnoText(EADDRNOTAVAIL)
        }
        let fd = socket(first.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { return errnoText() }
        if address.withSockaddr({ connect(fd, $0, $1) }) == 0 {
            return finishInet(fd)
        }
        if errno != EINPROGRESS {
            let text = errnoText()
            close(fd)
            return text
        }
        let timeout = loop.after(WakeupSender.connectTimeout) { [loop] in
            loop.unwatch(fd)
            close(fd)
        }
        loop.watchWritable(fd) { [loop, unowned self] _ in
            loop.cancel(timeout)
            loop.unwatch(fd)
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size) < 0 || code != 0 {
                MasterLog.warning("master_wakeup_timer_event: service \(entry.name)(\(entry.canonicalName)): \(errnoText(code))")
                close(fd)
                return
            }
            if let failure = self.finishInet(fd) {
                MasterLog.warning("master_wakeup_timer_event: service \(entry.name)(\(entry.canonicalName)): \(failure)")
            }
        }
        return nil
    }

    private func finishInet(_ fd: Int32) -> String? {
        if let failure = writeTrigger(fd) {
            close(fd)
            return failure
        }
        holdUntilPeerCloses(fd)
        return nil
    }

    /// Wildcard listeners are not a destination: reach them on loopback.
    private func reachableHost(_ address: ResolvedAddress) -> String {
        switch address.host {
        case "0.0.0.0": return "127.0.0.1"
        case "::": return "::1"
        default: return address.host
        }
    }

    private func writeTrigger(_ fd: Int32) -> String? {
        let bytes: [UInt8] = [UInt8(ascii: "W"), 0]
        return write(fd, bytes, bytes.count) == bytes.count ? nil : errnoText()
    }

    private func passTrigger(_ fd: Int32) -> String? {
        var pipeFDs: [Int32] = [-1, -1]
        if cs_pipe2(&pipeFDs, O_CLOEXEC) < 0 { return errnoText() }
        defer {
            close(pipeFDs[0])
            close(pipeFDs[1])
        }
        if cs_send_fd(fd, pipeFDs[0]) < 0 { return errnoText() }
        return writeTrigger(pipeFDs[1])
    }

    private func holdUntilPeerCloses(_ fd: Int32) {
        let expiry = loop.after(WakeupSender.connectionLifetime) { [loop] in
            loop.unwatch(fd)
            close(fd)
        }
        loop.watchReadable(fd) { [loop] _ in
            loop.cancel(expiry)
            loop.unwatch(fd)
            close(fd)
        }
    }
}
