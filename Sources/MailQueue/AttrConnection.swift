// AttrConnection: a blocking attr0 client connection over a UNIX-domain
// stream socket, for processes without an event loop of their own (or
// short exchanges inside one). Every operation is bounded by `timeout`
// (poll(2) on a monotonic deadline; writes never block past it); writes
// use MSG_NOSIGNAL, so a peer that went away is an error value, never a
// SIGPIPE. Every error names the peer. The descriptor is close-on-exec and
// closed by close()/deinit.
#if canImport(Glibc)
import Glibc
#endif

public final class AttrConnection {
    public let peer: String
    /// Seconds each send, receive or connect may take.
    public var timeout: Double
    public private(set) var descriptor: Int32
    private var decoder: AttrDecoder
    /// Reused by every receive: a fresh zeroed 4 KiB array per reply cost
    /// more than the reply (qmgr asks trivial-rewrite once per recipient).
    private var readBuffer = [UInt8](repeating: 0, count: 4096)
    /// When the connection was made (monotonic seconds).
    public let connectedAt: Double
    /// When a request was last sent or a reply received (monotonic seconds).
    public private(set) var lastUsed: Double

    /// Connects to the socket at `path`; `peer` names it in errors (default: the path).
    /// `blocking: false` leaves the descriptor non-blocking (this class's own
    /// operations poll anyway), saving the two fcntl calls of a short-lived client.
    public init(path: String, peer: String? = nil, timeout: Double = 60,
                limits: AttrDecoder.Limits = AttrDecoder.Limits(), blocking: Bool = true) throws(AttrError) {
        let name = peer ?? path
        self.peer = name
        self.timeout = timeout
        decoder = AttrDecoder(peer: name, limits: limits)
        descriptor = try AttrConnection.connect(path, peer: name, timeout: timeout, blocking: blocking)
        connectedAt = Clock.now()
        lastUsed = connectedAt
    }

    deinit { close() }

    public var isOpen: Bool { descriptor >= 0 }

    public func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Sends one list (items, then the terminator).
    public func send(_ list: AttrList) throws(AttrError) { try send(bytes: list.encoded) }

    public func send(_ items: [AttrItem]) throws(AttrError) { try send(AttrList(items)) }

    /// Sends bytes as they are (several pre-encoded lists, e.g. a delivery request).
    public func send(bytes: [UInt8]) throws(AttrError) {
        guard isOpen else { throw AttrError(peer: peer, problem: .closed) }
        let deadline = Clock.now() + timeout
        var sent = 0
        // The write is tried first; poll (bounded by the deadline) only when the socket is full.
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress!, raw.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    try wait(for: Int16(POLLOUT), until: deadline, while: "writing a request")
                    continue
                }
                throw AttrError(peer: peer, problem: .io(operation: "write to", errno: errno))
            }
            sent += n
        }
        lastUsed = Clock.now()
    }

    /// Receives the next complete list.
    public func receive() throws(AttrError) -> AttrList {
        guard isOpen else { throw AttrError(peer: peer, problem: .closed) }
        let deadline = Clock.now() + timeout
        while true {
            if let list = try decoder.nextList() {
                lastUsed = Clock.now()
                return list
            }
            try wait(for: Int16(POLLIN), until: deadline, while: "reading an attribute list")
            let fd = descriptor
            let n = readBuffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw AttrError(peer: peer, problem: .io(operation: "read from", errno: errno))
            }
            if n == 0 { throw AttrError(peer: peer, problem: .prematureEnd(while: "reading an attribute list")) }
            decoder.feed(readBuffer[0..<n])
        }
    }

    /// Receives a list and reads it with a strict scanner.
    public func receiveScanner(strict: Bool = true) throws(AttrError) -> AttrScanner {
        AttrScanner(try receive(), peer: peer, strict: strict)
    }

    /// Reads the server's announcement `protocol NUL <name> NUL NUL` and checks the name.
    public func expectGreeting(_ protocolName: String) throws(AttrError) {
        var scanner = try receiveScanner()
        try scanner.expect("protocol", equals: protocolName)
        try scanner.finish()
    }

    /// True when the peer has sent something or hung up while we were not
    /// waiting for a reply: a kept-open connection that must not be reused.
    public var hasUnexpectedInput: Bool {
        guard isOpen else { return true }
        if decoder.hasPartialInput { return true }
        var p = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) != 0
    }

    private func wait(for events: Int16, until deadline: Double, while what: String) throws(AttrError) {
        while true {
            let left = deadline - Clock.now()
            if left <= 0 { throw AttrError(peer: peer, problem: .timeout(while: what)) }
            var p = pollfd(fd: descriptor, events: events, revents: 0)
            let n = poll(&p, 1, Int32(Swift.min(left * 1000 + 1, Double(Int32.max))))
            if n > 0 { return }          // ready, or an error/hang-up the next call reports
            if n < 0 && errno != EINTR {
                throw AttrError(peer: peer, problem: .io(operation: "poll", errno: errno))
            }
        }
    }

    /// Non-blocking connect bounded by `timeout`, then back to blocking mode when `blocking`.
    static func connect(_ path: String, peer: String, timeout: Double, blocking: Bool = true) throws(AttrError) -> Int32 {
        let start: UnixStreamConnect.Start
        do { start = try UnixStreamConnect.start(path) } catch {
            throw AttrError(peer: peer, problem: .connect(errno: error.code))
        }
        let fd: Int32
        switch start {
        case .connected(let c): fd = c
        case .inProgress(let c):
            fd = c
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = SystemError.retrying { poll(&p, 1, Int32(Swift.min(timeout * 1000, Double(Int32.max)))) }
            let e = n == 1 ? UnixStreamConnect.pendingError(fd) : errno
            guard n == 1, e == 0 else {
                Glibc.close(fd)
                throw AttrError(peer: peer, problem: n == 0 ? .timeout(while: "connecting") : .connect(errno: e))
            }
        }
        if blocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        return fd
    }
}

public enum Clock {
    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
