// ExchangeError: why a conversation with a Postfix service (delivery agent,
// bounce/defer/trace) ended without its reply, as a value naming the peer
// (e.g. "private/smtp") and the step it was at. Timeouts say which clock
// ran out: the watchdog (stock's daemon_timeout: waiting for the service
// to speak at all) or the IPC timeout (qmgr_ipc_timeout: a write, or the
// rest of a list that had started to arrive).
import MailQueue

public enum ExchangeStep: String, Equatable, Sendable {
    case connecting = "connecting"
    case greeting = "reading the service greeting"
    case sending = "writing the request"
    case reply = "reading the reply"
}

public struct ExchangeError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case connect(errno: Int32)
        case read(errno: Int32)
        case write(errno: Int32)
        /// The peer closed the connection (or reset it) before the list was complete.
        case disconnected
        /// Bytes that are not the expected list (wrong greeting, bad attributes, too long...).
        case malformed(AttrError)
        case watchdogTimeout(seconds: Double)
        case ipcTimeout(seconds: Double)
    }

    public let peer: String
    public let step: ExchangeStep
    public let problem: Problem

    public init(peer: String, step: ExchangeStep, problem: Problem) {
        self.peer = peer
        self.step = step
        self.problem = problem
    }

    public var isTimeout: Bool {
        switch problem {
        case .watchdogTimeout, .ipcTimeout: return true
        default: return false
        }
    }

    public var description: String {
        switch problem {
        case .connect(let e): return "connect to \(peer): \(SystemErrno(e))"
        case .read(let e): return "read from \(peer) while \(step.rawValue): \(SystemErrno(e))"
        case .write(let e): return "write to \(peer): \(SystemErrno(e))"
        case .disconnected: return "\(peer) disconnected while \(step.rawValue)"
        case .malformed(let a): return "malformed input from \(peer) while \(step.rawValue): \(a)"
        case .watchdogTimeout(let s), .ipcTimeout(let s):
            return "timeout after \(Int(s))s on \(peer) while \(step.rawValue)"
        }
    }
}
