// AttrExchange: one request/reply conversation with a Postfix service on a
// UNIX-domain stream socket, non-blocking and driven from outside
// (Readiness): connect, read the service's greeting (`protocol` = the
// expected name), wait for the caller to hand over the request (a delivery
// agent is chosen before the message is, as stock does), write it, read
// one reply list, close.
//
// Guarantees:
// - nothing blocks: reads and writes use MSG_DONTWAIT; partial reads and
//   writes are kept across calls; a peer that went away is an error value
//   (MSG_NOSIGNAL, no SIGPIPE);
// - whatever the peer sends, the result is a reply list or an
//   ExchangeError naming the peer and the step; bytes are bounded by the
//   decoder's limits;
// - deadlines: the watchdog while waiting for the service to start
//   speaking (greeting, reply), the IPC timeout for a write and for the
//   rest of a list once it has started arriving (each read renews it);
// - the descriptor is closed as soon as the exchange ends (replied, failed,
//   abandoned) and on deinit: a delivery agent waits for that close;
//   `willClose` is called just before, with the descriptor still open.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public struct ExchangeTimeouts: Equatable, Sendable {
    /// qmgr_ipc_timeout: one write, or the rest of a list that has begun.
    public var ipc: Double
    /// daemon_timeout in stock qmgr: how long a service may stay silent.
    public var watchdog: Double

    public init(ipc: Double = 60, watchdog: Double = 18000) {
        self.ipc = ipc
        self.watchdog = watchdog
    }
}

public final class AttrExchange: ReadinessDriven {
    public enum State: Equatable, Sendable {
        case connecting
        case awaitingGreeting
        /// The service announced itself; `send` hands it the request.
        case greeted
        case sending
        case awaitingReply
        case replied(AttrList)
        case failed(ExchangeError)
        /// The caller closed it without a request (no work for this agent any more).
        case abandoned
    }

    public let peer: String
    public let protocolName: String
    public let timeouts: ExchangeTimeouts
    public private(set) var state: State
    public private(set) var descriptor: Int32?
    public var willClose: ((Int32) -> Void)?
    public private(set) var deadline: Double?
    private var deadlineIsIPC = false
    private var decoder: AttrDecoder
    private var outgoing: [UInt8] = []
    private var sent = 0

    /// Starts connecting to `path`; a connect that fails at once leaves the exchange failed.
    public init(path: String, peer: String, protocolName: String, timeouts: ExchangeTimeouts, now: Double,
                limits: AttrDecoder.Limits = AttrDecoder.Limits()) {
        self.peer = peer
        self.protocolName = protocolName
        self.timeouts = timeouts
        decoder = AttrDecoder(peer: peer, limits: limits)
        state = .connecting
        do {
            switch try UnixStreamConnect.start(path) {
            case .connected(let fd):
                descriptor = fd
                state = .awaitingGreeting
            case .inProgress(let fd):
                descriptor = fd
            }
            setDeadline(now + timeouts.watchdog, ipc: false)
        } catch {
            state = .failed(ExchangeError(peer: peer, step: .connecting, problem: .connect(errno: error.code)))
        }
    }

    deinit { closeDescriptor() }

    public var interest: Interest {
        switch state {
        case .connecting, .sending: return .writable
        case .awaitingGreeting, .awaitingReply: return .readable
        default: return .none
        }
    }

    public var isSettled: Bool {
        switch state {
        case .greeted, .replied, .failed, .abandoned: return true
        default: return false
        }
    }

    public var reply: AttrList? {
        if case .replied(let list) = state { return list }
        return nil
    }

    public var error: ExchangeError? {
        if case .failed(let e) = state { return e }
        return nil
    }

    public func handle(_ events: ReadyEvents, now: Double) {
        guard !events.isEmpty else { return }
        switch state {
        case .connecting: finishConnect(now: now)
        case .awaitingGreeting, .awaitingReply: readAvailable(now: now)
        case .sending: writePending(now: now)
        default: break
        }
    }

    public func checkDeadline(now: Double) {
        guard let d = deadline, now >= d, let step = currentStep else { return }
        let problem: ExchangeError.Problem = deadlineIsIPC ? .ipcTimeout(seconds: timeouts.ipc)
                                                           : .watchdogTimeout(seconds: timeouts.watchdog)
        fail(step, problem)
    }

    /// Hands the greeted service its request (bytes of one or more lists).
    /// Returns false, changing nothing, unless the exchange is `.greeted`.
    @discardableResult
    public func send(_ bytes: [UInt8], now: Double) -> Bool {
        guard state == .greeted else { return false }
        outgoing = bytes
        sent = 0
        state = .sending
        setDeadline(now + timeouts.ipc, ipc: true)
        writePending(now: now)
        return true
    }

    /// Closes the connection without a request (or gives up on a reply).
    public func abandon() {
        switch state {
        case .replied, .failed, .abandoned: return
        default:
            state = .abandoned
            closeDescriptor()
        }
    }

    // MARK: steps

    private var currentStep: ExchangeStep? {
        switch state {
        case .connecting: return .connecting
        case .awaitingGreeting: return .greeting
        case .sending: return .sending
        case .awaitingReply: return .reply
        default: return nil
        }
    }

    private func finishConnect(now: Double) {
        guard let fd = descriptor else { return }
        let e = UnixStreamConnect.pendingError(fd)
        guard e == 0 else { return fail(.connecting, .connect(errno: e)) }
        state = .awaitingGreeting
    }

    private func readAvailable(now: Double) {
        guard descriptor != nil, currentStep != nil else { return }
        // One read buffer on the stack per readiness event, not on the heap.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { readAvailable(into: $0, now: now) }
    }

    private func readAvailable(into buffer: UnsafeMutableBufferPointer<UInt8>, now: Double) {
        guard let fd = descriptor, let step = currentStep, let base = buffer.baseAddress else { return }
        while true {
            let n = Glibc.recv(fd, base, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                return fail(step, errno == ECONNRESET ? .disconnected : .read(errno: errno))
            }
            if n == 0 { return fail(step, .disconnected) }
            decoder.feed(UnsafeBufferPointer(rebasing: buffer[0..<n]))
            do {
                if let list = try decoder.nextList() { return received(list, step: step, now: now) }
            } catch {
                return fail(step, .malformed(error))
            }
        }
        // Part of a list arrived: the rest must follow within the IPC timeout.
        if decoder.hasPartialInput { setDeadline(now + timeouts.ipc, ipc: true) }
    }

    private func received(_ list: AttrList, step: ExchangeStep, now: Double) {
        guard step == .greeting else {
            state = .replied(list)
            deadline = nil
            closeDescriptor()
            return
        }
        var scanner = AttrScanner(list, peer: peer)
        do {
            try scanner.expect("protocol", equals: protocolName)
            try scanner.finish()
        } catch {
            return fail(.greeting, .malformed(error))
        }
        state = .greeted
        deadline = nil
    }

    private func writePending(now: Double) {
        guard let fd = descriptor else { return }
        while sent < outgoing.count {
            let n = outgoing[sent...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                return fail(.sending, .write(errno: errno))
            }
            sent += n
        }
        outgoing = []
        state = .awaitingReply
        setDeadline(now + timeouts.watchdog, ipc: false)
    }

    private func fail(_ step: ExchangeStep, _ problem: ExchangeError.Problem) {
        state = .failed(ExchangeError(peer: peer, step: step, problem: problem))
        deadline = nil
        closeDescriptor()
    }

    private func setDeadline(_ time: Double, ipc: Bool) {
        deadline = time
        deadlineIsIPC = ipc
    }

    private func closeDescriptor() {
        guard let fd = descriptor else { return }
        if let willClose {
            self.willClose = nil
            willClose(fd)
        }
        Glibc.close(fd)
        descriptor = nil
    }
}
