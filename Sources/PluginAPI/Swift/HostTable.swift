// HostTable.swift - the host's {id, function} table, resolved once into typed
// function pointers.
//
// The table the host passes to INIT is read only during that call: every
// function is copied out here, so the SDK never keeps a pointer into host
// memory. A missing id leaves its function nil; unknown ids are ignored, as
// the ABI promises. Callers degrade (defaults, stderr) rather than crash.
import MailhostPluginABI

/// Finds `id` in a {0, NULL}-terminated table; nil when absent. Bounded, so a
/// table without its terminator cannot run away.
public func lookupFunction(_ table: UnsafePointer<mh_function>?, _ id: UInt32) -> mh_fn? {
    guard var entry = table else { return nil }
    for _ in 0..<4096 {
        if entry.pointee.id == 0 { return nil }
        if entry.pointee.id == id { return entry.pointee.fn }
        entry += 1
    }
    return nil
}

/// Typed host functions; nil when the host does not provide one.
public struct HostTable {
    var log: mh_log_fn?
    var paramString: mh_param_string_fn?
    var paramInt: mh_param_int_fn?
    var paramBool: mh_param_bool_fn?
    var paramTime: mh_param_time_fn?
    var sendTrigger: mh_send_trigger_fn?
    var serviceName: mh_service_name_fn?
    var serviceType: mh_service_name_fn?
    var exit: mh_exit_fn?
    var clientFD: mh_client_fd_fn?
    var clientDone: mh_client_done_fn?
    var watchRead: mh_watch_read_fn?
    var unwatch: mh_unwatch_fn?
    var timer: mh_timer_fn?
    var argCount: mh_arg_count_fn?
    var arg: mh_arg_fn?
    // ABI 1.1
    var watch: mh_watch_fn?
    var watchMask: mh_watch_mask_fn?
    var timerStart: mh_timer_start_fn?
    var timerCancel: mh_timer_cancel_fn?
    var loopHook: mh_loop_hook_fn?
    var declare: mh_declare_fn?
    var setWatchdog: mh_set_watchdog_fn?
    var paramChecked: mh_param_checked_fn?

    public init(_ table: UnsafePointer<mh_function>?) {
        func get<F>(_ id: Int, _ type: F.Type) -> F? {
            lookupFunction(table, UInt32(id)).map { unsafeBitCast($0, to: F.self) }
        }
        log = get(MH_HOST_LOG, mh_log_fn.self)
        paramString = get(MH_HOST_PARAM_STRING, mh_param_string_fn.self)
        paramInt = get(MH_HOST_PARAM_INT, mh_param_int_fn.self)
        paramBool = get(MH_HOST_PARAM_BOOL, mh_param_bool_fn.self)
        paramTime = get(MH_HOST_PARAM_TIME, mh_param_time_fn.self)
        sendTrigger = get(MH_HOST_SEND_TRIGGER, mh_send_trigger_fn.self)
        serviceName = get(MH_HOST_SERVICE_NAME, mh_service_name_fn.self)
        serviceType = get(MH_HOST_SERVICE_TYPE, mh_service_name_fn.self)
        exit = get(MH_HOST_EXIT, mh_exit_fn.self)
        clientFD = get(MH_HOST_CLIENT_FD, mh_client_fd_fn.self)
        clientDone = get(MH_HOST_CLIENT_DONE, mh_client_done_fn.self)
        watchRead = get(MH_HOST_WATCH_READ, mh_watch_read_fn.self)
        unwatch = get(MH_HOST_UNWATCH, mh_unwatch_fn.self)
        timer = get(MH_HOST_TIMER, mh_timer_fn.self)
        argCount = get(MH_HOST_ARG_COUNT, mh_arg_count_fn.self)
        arg = get(MH_HOST_ARG, mh_arg_fn.self)
        watch = get(MH_HOST_WATCH, mh_watch_fn.self)
        watchMask = get(MH_HOST_WATCH_MASK, mh_watch_mask_fn.self)
        timerStart = get(MH_HOST_TIMER_START, mh_timer_start_fn.self)
        timerCancel = get(MH_HOST_TIMER_CANCEL, mh_timer_cancel_fn.self)
        loopHook = get(MH_HOST_LOOP_HOOK, mh_loop_hook_fn.self)
        declare = get(MH_HOST_DECLARE, mh_declare_fn.self)
        setWatchdog = get(MH_HOST_SET_WATCHDOG, mh_set_watchdog_fn.self)
        paramChecked = get(MH_HOST_PARAM_CHECKED, mh_param_checked_fn.self)
    }
}
