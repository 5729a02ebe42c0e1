// QueryServer: serves the query document on a listening UNIX socket from
// inside the qmgr worker's event loop, through readiness callbacks the
// caller provides (QueryLoop: the plugin maps them to the SDK's host.watch,
// host.unwatch and host.startTimer).
//
// Protocol: a client connects and reads until EOF; the server writes one
// document (built when the connection is accepted) and closes. The client
// sends nothing; anything it sends is ignored.
// Guarantees: never blocks (every descriptor is non-blocking, writes stop at
// EAGAIN and resume when writable); at most `limits.clients` connections at
// once — a connection beyond that is accepted and closed at once, so the
// client reads EOF without a document; a client that has not read the whole
// document `limits.seconds` after its connection is dropped; a peer whose
// uid is not root (SO_PEERCRED) is closed without a document, with a warning,
// in case the socket's mode was widened; when accept fails for want of
// descriptors or memory the listener is not watched for a second (the loop
// is level-triggered and would spin), with one warning per shortage.

import Glibc

/// The caller's event loop, as the server needs it.
public struct QueryLoop {
    /// Calls the handler whenever `fd` is readable (writable: false) or
    /// writable (true), and on hang-up or error, until `unwatch(fd)`.
    public var watch: (_ fd: Int32, _ writable: Bool, _ handler: @escaping () -> Void) throws -> Void
    public var unwatch: (_ fd: Int32) -> Void
    /// Calls the handler once after `seconds`.
    public var after: (_ seconds: Double, _ handler: @escaping () -> Void) throws -> Void

    public init(watch: @escaping (Int32, Bool, @escaping () -> Void) throws -> Void,
                unwatch: @escaping (Int32) -> Void,
                after: @escaping (Double, @escaping () -> Void) throws -> Void) {
        self.watch = watch
        self.unwatch = unwatch
        self.after = after
    }
}

public struct QueryLimits: Sendable {
    /// Connections served at once.
    public var clients: Int
    /// How long a client has to read the whole document.
    public var seconds: Double
    /// uids whose connections are answered.
    public var peerUIDs: Set<uid_t>

    public init(clients: Int = 8, seconds: Double = 5, peerUIDs: Set<uid_t> = [0]) {
        self.clients = clients
        self.seconds = seconds
        self.peerUIDs = peerUIDs
    }
}

public final class QueryServer {
    public let listener: Int32
    private let loop: QueryLoop
    private let limits: QueryLimits
    private let document: () -> String
    private let warn: (String) -> Void
    private let label: String
    private var clients: [Int32: Outgoing] = [:]
    /// Tells a dropped client's timer from a later client's on the same descriptor.
    private var nextSerial = 0
    /// A shortage was reported and no connection was accepted since.
    private var warned = false
    private static let pauseSeconds = 1.0

    private struct Outgoing {
        let serial: Int
        let bytes: [UInt8]
        var sent: Int
        var watched = false
    }

    /// Serves on `listener` (from QuerySocket.listen); `document` is called
    /// once per accepted connection; `warn` gets one line per problem; `label`
    /// names the socket in those lines.
    public init(listener: Int32, loop: QueryLoop, limits: QueryLimits = QueryLimits(), label: String = QuerySocket.relativePath,
                warn: @escaping (String) -> Void, document: @escaping () -> String) {
        self.listener = listener
        self.loop = loop
        self.limits = limits
        self.document = document
        self.warn = warn
        self.label = label
    }

    /// Connections being written now.
    public var clientCount: Int { clients.count }

    /// Starts watching the listener.
    public func start() throws {
        try loop.watch(listener, false) { [weak self] in self?.acceptReady() }
    }

    /// Stops: unwatches and closes the listener and every client.
    public func stop() {
        loop.unwatch(listener)
        close(listener)
        for fd in Array(clients.keys) { drop(fd) }
    }

    private func acceptReady() {
        // Bounded: one readiness call takes at most the backlog's worth.
        for _ in 0..<QuerySocket.backlog {
            // accept4 needs _GNU_SOURCE, which Glibc's module map lacks; the
            // worker has one thread, so setting the flags after accept races nothing.
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                let code = errno
                if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(code) { pause(code) }
                return
            }
            warned = false
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            admit(fd)
        }
    }

    private func admit(_ fd: Int32) {
        guard clients.count < limits.clients else {
            close(fd)
            return
        }
        guard let uid = peerUID(fd), limits.peerUIDs.contains(uid) else {
            warn("\(label): refusing a connection from uid \(peerUID(fd).map { String($0) } ?? "unknown")")
            close(fd)
            return
        }
        nextSerial += 1
        let serial = nextSerial
        clients[fd] = Outgoing(serial: serial, bytes: Array(document().utf8), sent: 0)
        guard writeSome(fd) else { return }
        do {
            try loop.watch(fd, true) { [weak self] in _ = self?.writeSome(fd) }
            clients[fd]?.watched = true
            try loop.after(limits.seconds) { [weak self] in self?.expire(fd, serial: serial) }
        } catch {
            warn("\(label): cannot wait for a client: \(error)")
            drop(fd)
        }
    }

    /// Writes what the socket takes; false once the client is gone (done or failed).
    private func writeSome(_ fd: Int32) -> Bool {
        guard var out = clients[fd] else { return false }
        while out.sent < out.bytes.count {
            let n = out.bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + out.sent, raw.count - out.sent, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n > 0 {
                out.sent += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                clients[fd] = out
                return true
            } else {
                break
            }
        }
        drop(fd)
        return false
    }

    private func expire(_ fd: Int32, serial: Int) {
        guard clients[fd]?.serial == serial else { return }
        drop(fd)
    }

    private func drop(_ fd: Int32) {
        guard let out = clients.removeValue(forKey: fd) else { return }
        if out.watched { loop.unwatch(fd) }
        close(fd)
    }

    private func peerUID(_ fd: Int32) -> uid_t? {
        // struct ucred (also _GNU_SOURCE only): pid, uid, gid.
        var credentials = (pid: pid_t(0), uid: uid_t(0), gid: gid_t(0))
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        guard length == socklen_t(MemoryLayout.size(ofValue: credentials)) else { return nil }
        return credentials.uid
    }

    private func resume() {
        do { try start() } catch { warn("\(label): cannot watch the listener: \(error) -- the query interface stops") }
    }

    private func pause(_ code: Int32) {
        if !warned {
            warned = true
            warn("\(label): accept: \(String(cString: strerror(code))) -- retrying every \(Int(QueryServer.pauseSeconds))s")
        }
        loop.unwatch(listener)
        do {
            try loop.after(QueryServer.pauseSeconds) { [weak self] in self?.resume() }
        } catch {
            warn("\(label): cannot set a timer: \(error) -- the query interface stops")
        }
    }
}
