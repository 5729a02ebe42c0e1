// PluginValidator.swift - check plugins in short-lived children without stalling the master.
//
// For each plugin file the master forks a child, which runs
// PluginValidator.runChild (ValidationChild.swift in PluginLoading): it keeps
// only stdio and its report pipe, so no master descriptor (listeners, status
// channels, epoll, signal and flow pipes, lock files, log sockets) is open
// while plugin code runs, loads the plugin exactly as a worker does, writes
// the result as text lines and exits. Whatever the plugin does while loading
// (crash, hang, exit) ends only that child. The children of one batch run at
// once under one deadline: a child still running then is killed, and refused
// unless it had already written its report.
//
// At start-up the master waits for a batch (`validateNow`: at most one
// timeout in all, however many plugins). At reload the batch runs on the
// event loop (`start`): the running configuration keeps serving, and the
// caller gets the results once every child has answered or timed out.
//
// Reaping: a validator is reaped here (waitpid on its own pid) or by
// Master.reapChildren, whose waitpid(-1) passes pids outside its child table
// to `childReaped`. A validator is signalled only while it is known to be
// unreaped, so a recycled pid is never hit.

import Glibc
import CSystem

extension PluginValidator {
    static let timeoutSeconds = 5.0

    /// Validates every file at once and waits for all of them (start-up).
    static func validateNow(_ paths: [String]) -> [String: Result] {
        let batch = ValidationBatch(paths: paths, loop: nil)
        batch.waitForAll()
        return batch.results
    }

    /// Starts validating every file; `done` runs from the event loop once
    /// every child has answered or timed out (reload).
    static func start(_ paths: [String], loop: EventLoop,
                      done: @escaping ([String: Result]) -> Void) -> ValidationBatch {
        let batch = ValidationBatch(paths: paths, loop: loop)
        batch.deliver(to: done)
        return batch
    }
}

/// The validating children of one start-up or reload, and their results.
final class ValidationBatch {
    private final class Child {
        let path: String
        let pid: pid_t
        let fd: Int32
        var report: [UInt8] = []
        var reaped = false

        init(path: String, pid: pid_t, fd: Int32) {
            self.path = path
            self.pid = pid
            self.fd = fd
        }
    }

    /// A report longer than this is no report of ours; the rest is dropped.
    private static let reportLimit = 64 * 1024

    private let loop: EventLoop?
    private let deadline: Double
    private var running: [Child] = []
    private var timer: EventLoop.TimerID?
    private var done: (([String: PluginValidator.Result]) -> Void)?
    private(set) var results: [String: PluginValidator.Result] = [:]

    fileprivate init(paths: [String], loop: EventLoop?) {
        self.loop = loop
        deadline = EventLoop.now() + PluginValidator.timeoutSeconds
        for path in paths where results[path] == nil && !running.contains(where: { $0.path == path }) {
            fork(path)
        }
    }

    private func fork(_ path: String) {
        var fds: [Int32] = [-1, -1]
        guard cs_pipe2(&fds, O_CLOEXEC) == 0 else {
            results[path] = PluginValidator.Result(problems: ["pipe: \(errnoText())"])
            return
        }
        let pid = cs_fork()
        if pid == 0 { PluginValidator.runChild(path: path, reportPipe: fds[1]) }
        close(fds[1])
        if pid < 0 {
            results[path] = PluginValidator.Result(problems: ["fork: \(errnoText())"])
            close(fds[0])
            return
        }
        setDescriptorFlags(fds[0], nonBlocking: true)
        running.append(Child(path: path, pid: pid, fd: fds[0]))
    }

    // MARK: waiting

    /// Start-up: polls the report pipes until all are done or the deadline.
    fileprivate func waitForAll() {
        while !running.isEmpty {
            let remaining = deadline - EventLoop.now()
            if remaining <= 0 { break }
            let polled = running
            var pollers = polled.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if poll(&pollers, nfds_t(pollers.count), Int32((remaining * 1000).rounded(.up))) < 0 && errno != EINTR {
                break
            }
            for (child, poller) in zip(polled, pollers) where poller.revents != 0 {
                readReport(child)
            }
        }
        expire()
    }

    /// Reload: watches the pipes and the deadline on the event loop.
    fileprivate func deliver(to done: @escaping ([String: PluginValidator.Result]) -> Void) {
        guard let loop else { return }
        self.done = done
        for child in running {
            loop.watchReadable(child.fd) { _ in
                self.readReport(child)
                self.deliverIfComplete()
            }
        }
        // Also when nothing runs (every fork failed): results still arrive
        // from the event loop, never from inside start().
        timer = loop.after(running.isEmpty ? 0 : PluginValidator.timeoutSeconds) {
            self.timer = nil
            self.expire()
            self.deliverIfComplete()
        }
    }

    private func deliverIfComplete() {
        guard running.isEmpty, let done else { return }
        self.done = nil
        loop?.cancel(timer)
        timer = nil
        done(results)
    }

    /// Stops every child without results (the master is terminating).
    func cancel() {
        done = nil
        loop?.cancel(timer)
        timer = nil
        running.forEach { finish($0, report: nil) }
    }

    /// Master.reapChildren reaped `pid`, which is not a service process.
    func childReaped(_ pid: pid_t) {
        running.first { $0.pid == pid }?.reaped = true
    }

    // MARK: one child

    private func readReport(_ child: Child) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(child.fd, &buffer, buffer.count)
            if count > 0 {
                if child.report.count < ValidationBatch.reportLimit { child.report += buffer[0..<count] }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN { return }
            return finish(child, report: child.report)
        }
    }

    /// Silence past the deadline is a refusal; a report already written stands.
    private func expire() {
        for child in running {
            finish(child, report: child.report.isEmpty ? Array(("refused " + PluginMessages.validatorTimeout).utf8) : child.report)
        }
    }

    private func finish(_ child: Child, report: [UInt8]?) {
        loop?.unwatch(child.fd)
        close(child.fd)
        running.removeAll { $0 === child }
        stop(child)
        if let report {
            results[child.path] = report.isEmpty ? PluginValidator.Result(problems: [PluginMessages.validatorDied])
                                                 : PluginValidator.parse(String(decoding: report, as: UTF8.self))
        }
    }

    /// Reaps the child, killing it first if it still runs. At reload a killed
    /// child is left to Master.reapChildren rather than waited for here.
    private func stop(_ child: Child) {
        guard !child.reaped else { return }
        var status: Int32 = 0
        let reaped = waitpid(child.pid, &status, WNOHANG)
        if reaped != 0 {
            child.reaped = true
            return
        }
        kill(child.pid, SIGKILL)
        if loop == nil { _ = waitpid(child.pid, &status, 0) }
    }
}
