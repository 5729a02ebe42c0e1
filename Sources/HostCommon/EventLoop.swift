// EventLoop.swift - the single-threaded event loop of the master and of each plugin worker.
//
// Readiness comes from epoll (level-triggered), time from CLOCK_MONOTONIC.
// Guarantees: a handler removed while a batch of events is being dispatched is
// never called for that batch, even if its descriptor number is reused at
// once (each registration carries a serial number in the epoll token); timers
// fire in deadline order and a timer cancelled before it fires never runs.

import Glibc
import CSystem

package final class EventLoop {
    package typealias ReadyHandler = (UInt32) -> Void
    package typealias TimerHandler = () -> Void

    package struct TimerID: Hashable { fileprivate let value: UInt64 }

    private struct Registration {
        let serial: UInt32
        let handler: ReadyHandler
    }

    private struct Timer {
        let deadline: Double
        let handler: TimerHandler
    }

    private let epollFD: Int32
    /// Indexed by descriptor number: descriptors are small and dense, and an
    /// array lookup is far cheaper than hashing on every event.
    private var registrations: [Registration?] = []
    private var timers: [UInt64: Timer] = [:]
    private var nextSerial: UInt32 = 1
    private var nextTimer: UInt64 = 1
    private var events = [cs_event](repeating: cs_event(), count: 64)
    /// Called each time the wait ends, before anything is dispatched (a
    /// worker arms its watchdog there: once per iteration, not per handler).
    package var onWake: (() -> Void)?

    package init() {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        if epollFD < 0 {
            MasterLog.fatal("epoll_create1: \(errnoText())")
        }
    }

    /// Seconds on the monotonic clock.
    package static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: descriptors

    /// Calls `handler` whenever `fd` is readable (or hung up / in error).
    package func watchReadable(_ fd: Int32, _ handler: @escaping ReadyHandler) {
        watch(fd, events: UInt32(EPOLLIN.rawValue), handler)
    }

    /// Calls `handler` whenever `fd` is writable (or in error).
    package func watchWritable(_ fd: Int32, _ handler: @escaping ReadyHandler) {
        watch(fd, events: UInt32(EPOLLOUT.rawValue), handler)
    }

    /// As watchReadable, for descriptors that are not the host's own (a
    /// plugin's): returns 0, or the errno of a failed registration, and
    /// leaves the loop as it was on failure.
    package func tryWatchReadable(_ fd: Int32, _ handler: @escaping ReadyHandler) -> Int32 {
        register(fd, events: UInt32(EPOLLIN.rawValue), handler)
    }

    /// As tryWatchReadable, for any epoll event set.
    package func tryWatch(_ fd: Int32, events: UInt32, _ handler: @escaping ReadyHandler) -> Int32 {
        register(fd, events: events, handler)
    }

    /// Changes the events a watched descriptor is watched for, keeping its
    /// handler: 0, ENOENT when `fd` is not watched, or the errno of epoll.
    package func modify(_ fd: Int32, events: UInt32) -> Int32 {
        guard isWatching(fd), let registration = registrations[Int(fd)] else { return ENOENT }
        return register(fd, events: events, registration.handler)
    }

    /// Registration failures of the host's own descriptors are fatal: they
    /// mean the process can no longer do its work.
    private func watch(_ fd: Int32, events: UInt32, _ handler: @escaping ReadyHandler) {
        let failure = register(fd, events: events, handler)
        if failure != 0 {
            MasterLog.fatal("epoll_ctl fd \(fd): \(errnoText(failure))")
        }
    }

    private func register(_ fd: Int32, events: UInt32, _ handler: @escaping ReadyHandler) -> Int32 {
        guard fd >= 0 else { return EBADF }
        let serial = nextSerial
        let token = UInt64(UInt32(bitPattern: fd)) | (UInt64(serial) << 32)
        let index = Int(fd)
        let known = index < registrations.count && registrations[index] != nil
        var status = cs_epoll_ctl(epollFD, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, events, token)
        // The kernel forgets a descriptor when its last copy is closed, even
        // if it was never unwatched: a reused number is new to epoll.
        if status < 0 && known && errno == ENOENT {
            status = cs_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, events, token)
        }
        if status < 0 { return errno }
        nextSerial &+= 1
        if index >= registrations.count {
            registrations += Array(repeating: nil, count: index + 1 - registrations.count)
        }
        registrations[index] = Registration(serial: serial, handler: handler)
        return 0
    }

    /// Stops watching `fd`; must be called before the descriptor is closed.
    package func unwatch(_ fd: Int32) {
        guard isWatching(fd) else { return }
        registrations[Int(fd)] = nil
        _ = cs_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
    }

    func isWatching(_ fd: Int32) -> Bool {
        fd >= 0 && Int(fd) < registrations.count && registrations[Int(fd)] != nil
    }

    // MARK: timers

    @discardableResult
    package func after(_ seconds: Double, _ handler: @escaping TimerHandler) -> TimerID {
        let id = nextTimer
        nextTimer += 1
        timers[id] = Timer(deadline: EventLoop.now() + seconds, handler: handler)
        return TimerID(value: id)
    }

    package func cancel(_ timer: TimerID?) {
        if let timer { timers.removeValue(forKey: timer.value) }
    }

    // MARK: running

    /// Waits for and dispatches one round of events and due timers, waiting
    /// no longer than `maxWait` milliseconds when that is not negative.
    package func runOnce(maxWait: Int32 = -1) {
        let untilTimer = millisecondsUntilNextTimer()
        let timeout = maxWait < 0 ? untilTimer : (untilTimer < 0 ? maxWait : min(untilTimer, maxWait))
        let count = events.withUnsafeMutableBufferPointer { buffer in
            cs_epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), timeout)
        }
        if count < 0 && errno != EINTR {
            MasterLog.fatal("epoll_wait: \(errnoText())")
        }
        onWake?()
        // Handlers may re-enter watch/unwatch but never runOnce, so the
        // event buffer is stable while this batch is dispatched.
        for index in 0..<Int(max(count, 0)) { dispatch(events[index]) }
        runDueTimers()
    }

    private func dispatch(_ event: cs_event) {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: event.token))
        let serial = UInt32(truncatingIfNeeded: event.token >> 32)
        guard isWatching(fd), let registration = registrations[Int(fd)], registration.serial == serial else { return }
        registration.handler(event.events)
    }

    /// The earliest deadline, found without allocating (timers are few).
    private func earliestDeadline() -> Double? {
        var earliest: Double?
        for timer in timers.values where earliest == nil || timer.deadline < earliest! {
            earliest = timer.deadline
        }
        return earliest
    }

    private func millisecondsUntilNextTimer() -> Int32 {
        guard let earliest = earliestDeadline() else { return -1 }
        let delta = (earliest - EventLoop.now()) * 1000
        if delta <= 0 { return 0 }
        return Int32(min(delta.rounded(.up), 3_600_000))
    }

    private func runDueTimers() {
        let now = EventLoop.now()
        guard let earliest = earliestDeadline(), earliest <= now else { return }
        let due = timers.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
        for (id, timer) in due {
            // A handler earlier in this round may have cancelled this one.
            guard timers.removeValue(forKey: id) != nil else { continue }
            timer.handler()
        }
    }
}
