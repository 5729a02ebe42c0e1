// Events.swift - the event model's host functions with Swift closures:
// watch a descriptor for reading, one-shot timers, ending a connection.
//
// A closure travels to the host as a context pointer to a retained box. The
// SDK keeps every box alive until the host can no longer call it (unwatch for
// watches; after firing for timers), so the host never calls freed memory.
import MailhostPluginABI

/// Keeps closures alive while the host may still call them. One per process:
/// a plugin process runs one service.
final class EventClosures {
    nonisolated(unsafe) static var watches: [Int32: WatchBox] = [:]
    nonisolated(unsafe) static var timers: [ObjectIdentifier: TimerBox] = [:]
}

final class WatchBox {
    let handler: (Int32) -> Void
    init(_ handler: @escaping (Int32) -> Void) { self.handler = handler }
}

final class TimerBox {
    let handler: () -> Void
    init(_ handler: @escaping () -> Void) { self.handler = handler }
}

private let watchThunk: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Void = { context, fd in
    guard let context else { return }
    Unmanaged<WatchBox>.fromOpaque(context).takeUnretainedValue().handler(fd)
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
        let box = WatchBox(handler)
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

    /// EVENT: the plugin is done with `client`; the host removes any watch
    /// on its descriptor and closes it, so the watch's closure goes too.
    public func done(_ client: Client) {
        table.clientDone?(handle, client.handle)
        EventClosures.watches[client.fd] = nil
    }
}
