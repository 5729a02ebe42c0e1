// Signals.swift - turns asynchronous signals into event-loop work.
//
// The C handler only records the signal and writes a byte to a non-blocking
// self-pipe; this module drains the pipe from the event loop and calls the
// master's handlers for HUP (reload), CHLD (reap) and the termination
// signals, so no master state is ever touched from signal context.

import Glibc
import CSystem

struct SignalHandlers {
    var reload: () -> Void
    var reap: () -> Void
    var terminate: (Int32) -> Void
}

final class SignalPipe {
    private let readFD: Int32
    private let writeFD: Int32
    static let terminationSignals: [Int32] = [SIGTERM, SIGINT, SIGQUIT]

    init(loop: EventLoop, handlers: SignalHandlers) {
        var fds: [Int32] = [-1, -1]
        if cs_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) < 0 {
            MasterLog.fatal("pipe: \(errnoText())")
        }
        readFD = fds[0]
        writeFD = fds[1]
        for signo in [SIGHUP, SIGCHLD] + SignalPipe.terminationSignals {
            if cs_signal_catch(signo, writeFD, 1) < 0 {
                MasterLog.fatal("sigaction(\(signo)): \(errnoText())")
            }
        }
        for signo in [SIGSEGV, SIGBUS, SIGILL] {
            _ = cs_signal_fault(signo)
        }
        let readFD = self.readFD
        loop.watchReadable(readFD) { _ in
            SignalPipe.drain(readFD)
            for signo in SignalPipe.terminationSignals where cs_signal_take(signo) != 0 {
                handlers.terminate(signo)
            }
            if cs_signal_take(SIGCHLD) != 0 { handlers.reap() }
            if cs_signal_take(SIGHUP) != 0 { handlers.reload() }
        }
    }

    private static func drain(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(fd, &buffer, buffer.count) > 0 {}
    }
}
