// Events.swift - the event functions with Swift closures: watch a
// descriptor (1.0: for reading; 1.1: with an event mask), one-shot timers
// (1.1: with ids and cancel), the loop hook (1.1), ending a connection.
// Offered in the event and (ABI 1.1) trigger models (Capabilities.events).
//
// A closure travels to the host as a context pointer to a retained box. The
// SDK keeps every box alive until the host can no longer call it (unwatch for
// watches; after firing or cancelling for timers; replacement for the loop
// hook), so the host never calls freed memory.
import MailhostPluginABI

/// Keeps closures alive while the host may still call them. One per process:
/// a plugin process runs one service.
final class EventClosures {
    nonisolated(unsafe) static var watches: [Int32: WatchBox] = [:]
    nonisolated(unsafe) static var timers: [ObjectIdentifier: TimerBox] = [:]
    nonisolated(unsafe) static var timersByID: [UInt64: TimerBox] = [:]
    nonisolated(unsafe) static var loopHook: LoopHookBox?
}

final class WatchBox {
    let handler: (Int32, EventMask) -> Void
    init(_ handler: @escaping (Int32, EventMask) -> Void) { self.handler = handler }
}

final class LoopHookBox {
    let hook: () -> Int64
    init(_ hook: @escaping () -> Int64) { self.hook = hook }
}

/// ABI 1.1: a timer started with `startTimer`; never reused in the process.
public struct TimerID: Hashable, Sendable {
    public let rawValue: UInt64
}

final class TimerBox {
    let handler: () -> Void
    init(_ handler: @escaping () -> Void) { self.handler = handler }
}

private let watchThunk: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Void = { context, fd in
    guard let context else { return }
    Unmanaged<WatchBox>.fromOpaque(context).takeUnretainedValue().handler(fd, .read)
}

private let maskedWatchThunk: mh_watch_cb = { context, fd, events in
    guard let context else { return }
    Unmanaged<WatchBox>.fromOpaque(context).takeUnretainedValue().handler(fd, EventMask(rawValue: events))
}

private let timerWithIDThunk: mh_timer_cb = { _, id in
    guard let box = EventClosures.timersByID.removeValue(forKey: id) else { return }
    box.handler()   // `box` is kept alive by this local until the call returns
}

private let loopHookThunk: mh_loop_cb = { _ in
    EventClosures.loopHook?.hook() ?? -1
}

private let timerThunk: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
    guard let context else { return }
    let box = Unmanaged<TimerBox>.fromOpaque(context).takeUnretainedValue()
    EventClosures.timers[ObjectIdentifier(box)] = nil
    box.handler()   // `box` is kept alive by this local until the call returns
}

extension ServiceHost {
    /// Calls `handler(fd)` whenever `fd` is readable, until `unwatch(fd)`.
    public func watchRead(_ fd: Int32, _ handler: @escaping (Int32) -> Void) throws {
        guard let watch = table.watchRead else { throw PluginError("host provides no watch_read") }
        let box = WatchBox { fd, _ in handler(fd) }
        EventClosures.watches[fd] = box
        if watch(handle, fd, watchThunk, Unmanaged.passUnretained(box).toOpaque()) < 0 {
            EventClosures.watches[fd] = nil
            throw PluginError("cannot watch descriptor \(fd)")
        }
    }

    public func unwatch(_ fd: Int32) {
        table.unwatch?(handle, fd)
        EventClosures.watches[fd] = nil
    }

    /// Calls `handler` once after `milliseconds`.
    public func timer(milliseconds: Int64, _ handler: @escaping () -> Void) throws {
        guard let timer = table.timer else { throw PluginError("host provides no timer") }
        let box = TimerBox(handler)
        EventClosures.timers[ObjectIdentifier(box)] = box
        if timer(handle, milliseconds, timerThunk, Unmanaged.passUnretained(box).toOpaque()) < 0 {
            EventClosures.timers[ObjectIdentifier(box)] = nil
            throw PluginError("cannot set a timer")
        }
    }

    // MARK: ABI 1.1

    /// Calls `handler(fd, events)` whenever one of `events` (.read, .write)
    /// holds on `fd`, with .hangUp and .error reported whatever the mask,
    /// until `unwatch(fd)`. Watching again replaces the mask and handler.
    public func watch(_ fd: Int32, for events: EventMask, _ handler: @escaping (Int32, EventMask) -> Void) throws {
        guard let watch = table.watch else { throw PluginError("host provides no watch (ABI 1.1)") }
        let box = WatchBox(handler)
        let previous = EventClosures.watches[fd]
        EventClosures.watches[fd] = box
        if watch(handle, fd, events.rawValue, maskedWatchThunk, Unmanaged.passUnretained(box).toOpaque()) < 0 {
            EventClosures.watches[fd] = previous
            throw PluginError("cannot watch descriptor \(fd)")
        }
    }

    /// Changes what a watched descriptor is watched for, keeping its handler.
    public func setWatchMask(_ fd: Int32, to events: EventMask) throws {
        guard let watchMask = table.watchMask else { throw PluginError("host provides no watch_mask (ABI 1.1)") }
        if watchMask(handle, fd, events.rawValue) < 0 { throw PluginError("cannot change the watch on descriptor \(fd)") }
    }

    /// Calls `handler` once after `milliseconds`, unless cancelled first.
    @discardableResult
    public func startTimer(milliseconds: Int64, _ handler: @escaping () -> Void) throws -> TimerID {
        guard let start = table.timerStart else { throw PluginError("host provides no timer_start (ABI 1.1)") }
        let id = start(handle, milliseconds, timerWithIDThunk, nil)
        if id == 0 { throw PluginError("cannot start a timer of \(milliseconds) ms") }
        EventClosures.timersByID[id] = TimerBox(handler)
        return TimerID(rawValue: id)
    }

    /// Cancels a timer: true when it will not run, false when it had already
    /// run or been cancelled.
    @discardableResult
    public func cancelTimer(_ timer: TimerID) -> Bool {
        guard let cancel = table.timerCancel else { return false }
        let result = cancel(handle, timer.rawValue)
        EventClosures.timersByID[timer.rawValue] = nil
        return result == 0
    }

    /// Runs `hook` once per event loop iteration, before the host waits; it
    /// returns the longest wait in milliseconds (0: none, negative: no limit).
    /// nil removes the hook.
    public func setLoopHook(_ hook: (() -> Int64)?) throws {
        guard let set = table.loopHook else { throw PluginError("host provides no loop_hook (ABI 1.1)") }
        let previous = EventClosures.loopHook
        EventClosures.loopHook = hook.map(LoopHookBox.init)
        if set(handle, hook == nil ? nil : loopHookThunk, nil) < 0 {
            EventClosures.loopHook = previous
            throw PluginError("cannot set the loop hook")
        }
    }

    /// EVENT: the plugin is done with `client`; the host removes any watch
    /// on its descriptor and closes it, so the watch's closure goes too.
    public func done(_ client: Client) {
        table.clientDone?(handle, client.handle)
        EventClosures.watches[client.fd] = nil
    }
}
