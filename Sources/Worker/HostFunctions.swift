// HostFunctions.swift - the host function table handed to plugin INIT.
//
// Every function is a C function pointer that reaches the worker through
// WorkerContext.shared (one plugin per process). Strings are copied into
// the caller's buffer; nothing the host allocates is handed over, and no
// Swift error can escape. Every function is safe in every server model and
// state: a call the host cannot honour (a client handle that is not live, a
// descriptor the host needs, a NULL or absurd buffer, an event function in a
// model without events) is refused with a logged error and a documented
// failure value, and the worker goes on. A parameter whose value stock would
// reject ends the worker with stock's fatal text, as a stock daemon would end,
// except through param_checked (ABI 1.1), which returns that text. The 1.1
// functions are in HostFunctionsV11.swift.

import Glibc
import MailhostPluginABI
import PostfixConfig
import PostfixText

enum HostFunctions {
    static let table: [mh_function] = [
        entry(MH_HOST_LOG, unsafeBitCast(log, to: mh_fn.self)),
        entry(MH_HOST_PARAM_STRING, unsafeBitCast(paramString, to: mh_fn.self)),
        entry(MH_HOST_PARAM_INT, unsafeBitCast(paramInt, to: mh_fn.self)),
        entry(MH_HOST_PARAM_BOOL, unsafeBitCast(paramBool, to: mh_fn.self)),
        entry(MH_HOST_PARAM_TIME, unsafeBitCast(paramTime, to: mh_fn.self)),
        entry(MH_HOST_SEND_TRIGGER, unsafeBitCast(sendTrigger, to: mh_fn.self)),
        entry(MH_HOST_SERVICE_NAME, unsafeBitCast(serviceName, to: mh_fn.self)),
        entry(MH_HOST_SERVICE_TYPE, unsafeBitCast(serviceType, to: mh_fn.self)),
        entry(MH_HOST_EXIT, unsafeBitCast(exitProcess, to: mh_fn.self)),
        entry(MH_HOST_CLIENT_FD, unsafeBitCast(clientFD, to: mh_fn.self)),
        entry(MH_HOST_CLIENT_DONE, unsafeBitCast(clientDone, to: mh_fn.self)),
        entry(MH_HOST_WATCH_READ, unsafeBitCast(watchRead, to: mh_fn.self)),
        entry(MH_HOST_UNWATCH, unsafeBitCast(unwatch, to: mh_fn.self)),
        entry(MH_HOST_TIMER, unsafeBitCast(timer, to: mh_fn.self)),
        entry(MH_HOST_ARG_COUNT, unsafeBitCast(argCount, to: mh_fn.self)),
        entry(MH_HOST_ARG, unsafeBitCast(argument, to: mh_fn.self)),
        entry(MH_HOST_WATCH, unsafeBitCast(watch, to: mh_fn.self)),
        entry(MH_HOST_WATCH_MASK, unsafeBitCast(watchMask, to: mh_fn.self)),
        entry(MH_HOST_TIMER_START, unsafeBitCast(timerStart, to: mh_fn.self)),
        entry(MH_HOST_TIMER_CANCEL, unsafeBitCast(timerCancel, to: mh_fn.self)),
        entry(MH_HOST_LOOP_HOOK, unsafeBitCast(loopHook, to: mh_fn.self)),
        entry(MH_HOST_DECLARE, unsafeBitCast(declare, to: mh_fn.self)),
        entry(MH_HOST_SET_WATCHDOG, unsafeBitCast(setWatchdog, to: mh_fn.self)),
        entry(MH_HOST_PARAM_CHECKED, unsafeBitCast(paramChecked, to: mh_fn.self)),
        mh_function(id: 0, fn: nil),
    ]

    private static func entry(_ id: Int, _ fn: mh_fn) -> mh_function {
        mh_function(id: UInt32(id), fn: fn)
    }

    static var worker: WorkerContext? { WorkerContext.shared }

    /// Longest buffer a plugin may hand over (log text, names, trigger data).
    static let maximumLength = 1 << 20

    /// Logs a refused call; the caller returns its failure value.
    static func refuse(_ function: String, _ reason: String) {
        MasterLog.error("plugin called \(function): \(reason) -- refused")
    }

    /// The bytes at pointer/length, or nil (refused and logged) when they
    /// cannot be a buffer: NULL with a length, or a negative or huge length.
    static func buffer(_ pointer: UnsafeRawPointer?, _ length: Int, in function: String) -> UnsafeRawBufferPointer? {
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard length > 0, length <= maximumLength else {
            refuse(function, "bad length \(UInt(bitPattern: length))")
            return nil
        }
        guard let pointer else {
            refuse(function, "NULL buffer with length \(length)")
            return nil
        }
        return UnsafeRawBufferPointer(start: pointer, count: length)
    }

    /// An mh_str as a String, or nil (refused and logged) when it cannot be one.
    static func text(_ value: mh_str, in function: String) -> String? {
        buffer(value.ptr, value.len, in: function).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Copies `value` into buf (NUL-terminated when it fits); returns its length.
    static func copy(_ value: String, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
        let bytes = Array(value.utf8)
        guard let buffer, size > 0 else { return bytes.count }
        let count = min(bytes.count, size - 1)
        for index in 0..<count { buffer[index] = CChar(bitPattern: bytes[index]) }
        buffer[count] = 0
        return bytes.count
    }

    /// The worker, when the model offers the event functions (MH_CAP_EVENTS:
    /// the event and trigger models); otherwise the call is refused.
    static func eventWorker(_ function: String) -> WorkerContext? {
        guard let worker else { return nil }
        guard PluginABI.offersEvents(model: worker.model) else {
            refuse(function, "not available in the \(PluginABI.modelName(worker.model)) server model")
            return nil
        }
        return worker
    }

    /// A parameter read with stock's rules: the plugin's default stands in
    /// for a parameter that neither main.cf, -o nor Postfix defines; a value
    /// that does not parse ends the worker with stock's fatal text.
    static func parameter<T>(_ name: mh_str, default fallback: String, in function: String,
                             _ read: (MainConfig, String) throws -> T) -> T? {
        guard let key = text(name, in: function), let result = checkedParameter(key, default: fallback, read) else {
            return nil
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): MasterLog.fatal(error.message)
        }
    }

    /// As `parameter`, with stock's complaint about the value returned
    /// instead of ending the worker; nil without a worker.
    static func checkedParameter<T>(_ key: String, default fallback: String,
                                    _ read: (MainConfig, String) throws -> T) -> Result<T, ConfigError>? {
        guard let worker else { return nil }
        var config = worker.config
        if !config.isDefined(key) {
            config = config.with(overrides: [(key, fallback)])
        }
        do {
            return .success(try read(config, key))
        } catch let error as ConfigError {
            return .failure(error)
        } catch {
            return .failure(ConfigError("\(error)"))
        }
    }

    // MARK: the functions

    static let log: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, Int) -> Void = { _, level, text, length in
        guard let bytes = buffer(text, length, in: "log") else { return }
        // Made printable as bytes, before decoding: a byte that is not UTF-8
        // becomes "?" as in stock, not U+FFFD.
        let message = String(decoding: PrintableText.bytes(Array(bytes), utf8: MasterLog.keepsUTF8), as: UTF8.self)
        switch level {
        case Int32(MH_LOG_WARNING.rawValue): MasterLog.emit(.warning, printable: message)
        case Int32(MH_LOG_ERROR.rawValue): MasterLog.emit(.error, printable: message)
        case Int32(MH_LOG_FATAL.rawValue):
            MasterLog.emit(.fatal, printable: message)
            MasterLog.exitAfterFatal()
        default: MasterLog.emit(.info, printable: message)
        }
    }

    static let paramString: @convention(c) (OpaquePointer?, mh_str, mh_str, UnsafeMutablePointer<CChar>?, Int) -> Int = { _, name, fallback, buffer, size in
        guard let fallbackText = text(fallback, in: "param_string") else { return 0 }
        let value = parameter(name, default: fallbackText, in: "param_string") { try $0.value($1) }
        return copy(value ?? fallbackText, buffer, size)
    }

    static let paramInt: @convention(c) (OpaquePointer?, mh_str, Int64) -> Int64 = { _, name, fallback in
        parameter(name, default: String(fallback), in: "param_int") { Int64(try $0.integer($1)) } ?? fallback
    }

    static let paramBool: @convention(c) (OpaquePointer?, mh_str, Int32) -> Int32 = { _, name, fallback in
        let value = parameter(name, default: fallback != 0 ? "yes" : "no", in: "param_bool") { try $0.boolean($1) }
        return value.map { $0 ? 1 : 0 } ?? fallback
    }

    static let paramTime: @convention(c) (OpaquePointer?, mh_str, mh_str) -> Int64 = { _, name, fallback in
        guard let fallbackText = text(fallback, in: "param_time") else { return -1 }
        return parameter(name, default: fallbackText, in: "param_time") { Int64(try $0.seconds($1)) } ?? -1
    }

    static let sendTrigger: @convention(c) (OpaquePointer?, mh_str, UnsafePointer<CChar>?, Int) -> Int32 = { _, service, data, length in
        guard let worker, let name = text(service, in: "send_trigger"),
              let bytes = buffer(data, length, in: "send_trigger") else { return -1 }
        switch Triggers.send(to: name, Array(bytes), inetServices: worker.spec.inetServices) {
        case .sent:
            return 0
        case .failed(let reason):
            MasterLog.warning("send_trigger \(name): \(reason)")
            return -1
        }
    }

    static let serviceName: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int) -> Int = { _, buffer, size in
        copy(worker?.spec.entry.name ?? "", buffer, size)
    }

    static let serviceType: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int) -> Int = { _, buffer, size in
        copy(worker?.spec.entry.type.rawValue ?? "", buffer, size)
    }

    static let exitProcess: @convention(c) (OpaquePointer?, Int32) -> Void = { _, status in
        if let worker { worker.orderlyExit(status) }
        exit(status)
    }

    static let clientFD: @convention(c) (OpaquePointer?) -> Int32 = { handle in
        guard let client = worker?.clients.lookup(handle) else {
            refuse("client_fd", "unknown or finished client")
            return -1
        }
        return client.fd
    }

    static let clientDone: @convention(c) (OpaquePointer?, OpaquePointer?) -> Void = { _, handle in
        guard let worker else { return }
        guard worker.model == UInt32(MH_MODEL_EVENT.rawValue) else {
            refuse("client_done", "not available in the \(PluginABI.modelName(worker.model)) server model")
            return
        }
        guard let handle, Skeletons.endClient(worker, handle) else {
            refuse("client_done", "unknown or finished client")
            return
        }
    }

    static let watchRead: @convention(c) (OpaquePointer?, Int32, (@convention(c) (UnsafeMutableRawPointer?, Int32) -> Void)?, UnsafeMutableRawPointer?) -> Int32 = { _, fd, callback, context in
        guard let worker = eventWorker("watch_read") else { return -1 }
        guard let callback else {
            refuse("watch_read", "NULL callback")
            return -1
        }
        guard fd >= 0, !worker.isHostDescriptor(fd) else {
            refuse("watch_read", "descriptor \(fd) is not the plugin's")
            return -1
        }
        let failure = worker.loop.tryWatchReadable(fd) { _ in
            callback(context, fd)
        }
        guard failure == 0 else {
            refuse("watch_read", "descriptor \(fd): \(errnoText(failure))")
            return -1
        }
        return 0
    }

    static let unwatch: @convention(c) (OpaquePointer?, Int32) -> Void = { _, fd in
        guard let worker = eventWorker("unwatch") else { return }
        guard !worker.isHostDescriptor(fd) else {
            refuse("unwatch", "descriptor \(fd) is not the plugin's")
            return
        }
        worker.loop.unwatch(fd)
    }

    static let timer: @convention(c) (OpaquePointer?, Int64, (@convention(c) (UnsafeMutableRawPointer?) -> Void)?, UnsafeMutableRawPointer?) -> Int32 = { _, milliseconds, callback, context in
        guard let worker = eventWorker("timer") else { return -1 }
        guard let callback else {
            refuse("timer", "NULL callback")
            return -1
        }
        worker.loop.after(Double(max(0, milliseconds)) / 1000) {
            callback(context)
        }
        return 0
    }

    static let argCount: @convention(c) (OpaquePointer?) -> Int = { _ in
        worker?.arguments.count ?? 0
    }

    static let argument: @convention(c) (OpaquePointer?, Int, UnsafeMutablePointer<CChar>?, Int) -> Int = { _, index, buffer, size in
        guard let arguments = worker?.arguments, index >= 0, index < arguments.count else { return 0 }
        return copy(arguments[index], buffer, size)
    }
}
