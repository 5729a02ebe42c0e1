// HostFunctionsV11.swift - the host functions ABI 1.1 adds (see
// mailhost_plugin.h, "1.1"): watches with event masks, timers with ids and
// cancel, the loop hook, the solitary/long-lived declaration, the watchdog
// time, and a parameter read that returns stock's complaint instead of
// ending the worker.
//
// Same rules as the 1.0 functions (HostFunctions.swift): every argument is
// checked, a call the host cannot honour is refused with
// "plugin called <function>: <reason> -- refused" and the function's
// failure value, and the worker goes on.

import Glibc
import MailhostPluginABI
import PostfixConfig

extension HostFunctions {
    /// The worker, when `fd` may carry a plugin watch; refused otherwise.
    private static func pluginDescriptor(_ worker: WorkerContext, _ fd: Int32, in function: String) -> Bool {
        guard fd >= 0, !worker.isHostDescriptor(fd) else {
            refuse(function, "descriptor \(fd) is not the plugin's")
            return false
        }
        return true
    }

    private static func validMask(_ mask: UInt32, in function: String) -> Bool {
        guard PluginEvents.isValidMask(mask) else {
            refuse(function, "bad event mask 0x\(String(mask, radix: 16))")
            return false
        }
        return true
    }

    static let watch: @convention(c) (OpaquePointer?, Int32, UInt32, mh_watch_cb?, UnsafeMutableRawPointer?) -> Int32 = { _, fd, mask, callback, context in
        guard let worker = eventWorker("watch") else { return -1 }
        guard let callback else {
            refuse("watch", "NULL callback")
            return -1
        }
        guard validMask(mask, in: "watch"), pluginDescriptor(worker, fd, in: "watch") else { return -1 }
        let failure = worker.events.watch(fd, mask: mask, callback, context)
        guard failure == 0 else {
            refuse("watch", "descriptor \(fd): \(errnoText(failure))")
            return -1
        }
        return 0
    }

    static let watchMask: @convention(c) (OpaquePointer?, Int32, UInt32) -> Int32 = { _, fd, mask in
        guard let worker = eventWorker("watch_mask") else { return -1 }
        guard validMask(mask, in: "watch_mask"), pluginDescriptor(worker, fd, in: "watch_mask") else { return -1 }
        let failure = worker.events.changeMask(fd, mask: mask)
        guard failure == 0 else {
            refuse("watch_mask", failure == ENOENT ? "descriptor \(fd) is not watched" : "descriptor \(fd): \(errnoText(failure))")
            return -1
        }
        return 0
    }

    static let timerStart: @convention(c) (OpaquePointer?, Int64, mh_timer_cb?, UnsafeMutableRawPointer?) -> UInt64 = { _, milliseconds, callback, context in
        guard let worker = eventWorker("timer_start") else { return 0 }
        guard let callback else {
            refuse("timer_start", "NULL callback")
            return 0
        }
        guard milliseconds >= 0 else {
            refuse("timer_start", "negative time \(milliseconds) ms")
            return 0
        }
        return worker.events.startTimer(milliseconds: milliseconds, callback, context)
    }

    static let timerCancel: @convention(c) (OpaquePointer?, UInt64) -> Int32 = { _, id in
        guard let worker = eventWorker("timer_cancel") else { return -1 }
        let result = worker.events.cancelTimer(id)
        if result == .neverIssued { refuse("timer_cancel", "unknown timer id \(id)") }
        return result.rawValue
    }

    static let loopHook: @convention(c) (OpaquePointer?, mh_loop_cb?, UnsafeMutableRawPointer?) -> Int32 = { _, hook, context in
        guard let worker = eventWorker("loop_hook") else { return -1 }
        worker.events.setLoopHook(hook, context)
        return 0
    }

    static let declare: @convention(c) (OpaquePointer?, UInt32) -> Int32 = { _, flags in
        guard let worker else { return -1 }
        let known = UInt32(MH_DECLARE_SOLITARY) | UInt32(MH_DECLARE_LONG_LIVED)
        guard flags & ~known == 0 else {
            refuse("declare", "unknown flags 0x\(String(flags & ~known, radix: 16))")
            return -1
        }
        if flags & UInt32(MH_DECLARE_SOLITARY) != 0 { worker.requireSolitary() }
        if flags & UInt32(MH_DECLARE_LONG_LIVED) != 0 { worker.becomeLongLived() }
        return 0
    }

    static let setWatchdog: @convention(c) (OpaquePointer?, Int64) -> Int32 = { _, seconds in
        guard let worker else { return -1 }
        guard seconds >= 1, seconds <= Int64(Int32.max) else {
            refuse("set_watchdog", "bad time \(seconds) s")
            return -1
        }
        worker.watchdogSeconds = UInt32(seconds)
        return 0
    }

    /// What param_checked returns: 0, -1 for a value stock rejects, -2 refused.
    private static let paramInvalid: Int32 = -1
    private static let paramRefused: Int32 = -2

    static let paramChecked: @convention(c) (OpaquePointer?, UInt32, mh_str, mh_str, Int64, Int64, UnsafeMutablePointer<Int64>?,
                                              UnsafeMutablePointer<CChar>?, Int) -> Int32 = { _, kind, name, fallback, minimum, maximum, value, error, size in
        guard let value else {
            refuse("param_checked", "NULL value pointer")
            return paramRefused
        }
        guard let key = text(name, in: "param_checked"), let fallbackText = text(fallback, in: "param_checked") else {
            return paramRefused
        }
        let read: Result<Int64, ConfigError>?
        switch kind {
        case UInt32(MH_PARAM_INT):
            read = checkedParameter(key, default: fallbackText) { Int64(try $0.integer($1)) }
                .map { $0.flatMap { inRange($0, minimum, maximum, below: "invalid \(key) parameter value \($0) < \(minimum)",
                                   above: "invalid \(key) parameter value \($0) > \(maximum)") } }
        case UInt32(MH_PARAM_TIME):
            read = checkedParameter(key, default: fallbackText) { Int64(try $0.seconds($1)) }
                .map { $0.flatMap { inRange($0, minimum, maximum, below: "invalid \(key): \($0) (min \(minimum))",
                                   above: "invalid \(key): \($0) (max \(maximum))") } }
        case UInt32(MH_PARAM_BOOL):
            read = checkedParameter(key, default: fallbackText) { try $0.boolean($1) ? 1 : 0 }
        default:
            refuse("param_checked", "unknown kind \(kind)")
            return paramRefused
        }
        switch read {
        case .success(let number)?:
            value.pointee = number
            return 0
        case .failure(let complaint)?:
            _ = copy(complaint.message, error, size)
            return paramInvalid
        case nil:
            return paramRefused
        }
    }

    /// Postfix's bounds: 0 means no bound on that side.
    private static func inRange(_ number: Int64, _ minimum: Int64, _ maximum: Int64,
                                below: @autoclosure () -> String, above: @autoclosure () -> String) -> Result<Int64, ConfigError> {
        if minimum != 0 && number < minimum { return .failure(ConfigError(below())) }
        if maximum != 0 && number > maximum { return .failure(ConfigError(above())) }
        return .success(number)
    }
}
