// PluginEvents.swift - a worker's plugin-owned events (ABI 1.1): watches
// with event masks, timers with ids, and the loop hook.
//
// Guarantees: a plugin timer id is never 0 and never reused within the
// process (ids are counted here, apart from the host's own timers, so a
// plugin can never cancel the host's idle timer); a cancelled timer never
// runs; a timer that has run or been cancelled is no longer pending, and an
// id never issued is told apart from both. Every plugin callback runs under
// the worker's watchdog, armed once per loop iteration (WorkerContext). Descriptor checks (the host's own, bad numbers) are
// the caller's (HostFunctions).

import Glibc
import CSystem
import MailhostPluginABI

final class PluginEvents {
    private unowned let worker: WorkerContext
    private var pendingTimers: [UInt64: EventLoop.TimerID] = [:]
    private var nextTimerID: UInt64 = 1
    private var loopHook: (hook: mh_loop_cb, context: UnsafeMutableRawPointer?)?

    init(worker: WorkerContext) {
        self.worker = worker
    }

    // MARK: watches

    static let knownMask = UInt32(MH_EVENT_READ) | UInt32(MH_EVENT_WRITE)

    static func isValidMask(_ mask: UInt32) -> Bool {
        mask != 0 && mask & ~knownMask == 0
    }

    /// The epoll events for an MH_EVENT mask: a half-close counts as a
    /// hang-up only where the plugin reads.
    static func epollEvents(_ mask: UInt32) -> UInt32 {
        var events: UInt32 = 0
        if mask & UInt32(MH_EVENT_READ) != 0 { events |= UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) }
        if mask & UInt32(MH_EVENT_WRITE) != 0 { events |= UInt32(EPOLLOUT.rawValue) }
        return events
    }

    /// The MH_EVENT bits for what epoll reported.
    static func pluginEvents(_ events: UInt32) -> UInt32 {
        var result: UInt32 = 0
        if events & UInt32(EPOLLIN.rawValue) != 0 { result |= UInt32(MH_EVENT_READ) }
        if events & UInt32(EPOLLOUT.rawValue) != 0 { result |= UInt32(MH_EVENT_WRITE) }
        if events & (UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLRDHUP.rawValue)) != 0 { result |= UInt32(MH_EVENT_HUP) }
        if events & UInt32(EPOLLERR.rawValue) != 0 { result |= UInt32(MH_EVENT_ERROR) }
        return result
    }

    /// Watches `fd` for `mask`; 0 or the errno of the registration.
    func watch(_ fd: Int32, mask: UInt32, _ callback: mh_watch_cb, _ context: UnsafeMutableRawPointer?) -> Int32 {
        let worker = self.worker
        return worker.loop.tryWatch(fd, events: PluginEvents.epollEvents(mask)) { events in
            callback(context, fd, PluginEvents.pluginEvents(events))
        }
    }

    /// Changes the mask of a watched descriptor; 0, ENOENT or epoll's errno.
    func changeMask(_ fd: Int32, mask: UInt32) -> Int32 {
        worker.loop.modify(fd, events: PluginEvents.epollEvents(mask))
    }

    // MARK: timers

    enum Cancellation: Int32 {
        case cancelled = 0
        case notPending = 1
        case neverIssued = -1
    }

    /// Starts a one-shot timer; returns its id.
    func startTimer(milliseconds: Int64, _ callback: mh_timer_cb, _ context: UnsafeMutableRawPointer?) -> UInt64 {
        let id = nextTimerID
        nextTimerID += 1
        let worker = self.worker
        pendingTimers[id] = worker.loop.after(Double(milliseconds) / 1000) { [weak self] in
            self?.pendingTimers[id] = nil
            callback(context, id)
        }
        return id
    }

    func cancelTimer(_ id: UInt64) -> Cancellation {
        guard id != 0, id < nextTimerID else { return .neverIssued }
        guard let timer = pendingTimers.removeValue(forKey: id) else { return .notPending }
        worker.loop.cancel(timer)
        return .cancelled
    }

    // MARK: the loop hook

    func setLoopHook(_ hook: mh_loop_cb?, _ context: UnsafeMutableRawPointer?) {
        loopHook = hook.map { ($0, context) }
    }

    /// Runs the hook, if any; the longest wait it allows in milliseconds,
    /// -1 for no limit.
    func runLoopHook() -> Int32 {
        guard let loopHook else { return -1 }
        let wait = loopHook.hook(loopHook.context)
        return wait < 0 ? -1 : Int32(clamping: wait)
    }
}
