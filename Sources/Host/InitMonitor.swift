// InitMonitor.swift - `master -w`: wait until the daemon has initialized.
//
// The foreground process forks; the child goes on to become the master and
// writes one byte to the monitor pipe once every service is started. The
// foreground process exits 0 on that byte, and fails with the stock fatal
// message when the pipe closes first (the child died during start-up) or
// nothing arrives within 100 seconds.

import Glibc
import CSystem

enum InitMonitor {
    /// Returns in the child with the descriptor to signal on; never
    /// returns in the foreground process.
    static func detach() -> Int32 {
        var fds: [Int32] = [-1, -1]
        if cs_pipe2(&fds, O_CLOEXEC) < 0 {
            MasterLog.fatal("pipe: \(errnoText())")
        }
        let pid = cs_fork()
        if pid < 0 { MasterLog.fatal("fork: \(errnoText())") }
        if pid == 0 {
            close(fds[0])
            return fds[1]
        }
        close(fds[1])
        waitForByte(fds[0], child: pid)
    }

    private static func waitForByte(_ fd: Int32, child: pid_t) -> Never {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, 100_000)
        if ready > 0 {
            var byte: UInt8 = 0
            if read(fd, &byte, 1) == 1 { exit(0) }
        } else {
            let reason = ready == 0 ? errnoText(ETIMEDOUT) : errnoText()
            MasterLog.warning("\(reason) while waiting for daemon initialization")
            kill(child, SIGKILL)
        }
        MasterLog.fatal("daemon initialization failure -- see logs for details")
    }

    /// Called by the child when start-up is complete.
    static func signalReady(_ fd: Int32) {
        var byte: UInt8 = 0
        _ = write(fd, &byte, 1)
        close(fd)
    }
}
