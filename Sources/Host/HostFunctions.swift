// HostFunctions.swift - the host function table handed to plugin INIT.
//
// Every function is a C function pointer that reaches the worker through
// WorkerContext.shared (one plugin per process). Strings are copied into
// the caller's buffer; nothing the host allocates is handed over, and no
// Swift error can escape: failures become documented return values.

import Glibc
import MailhostPluginABI
import PostfixConfig

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
        mh_function(id: 0, fn: nil),
    ]

    private static func entry(_ id: Int, _ fn: mh_fn) -> mh_function {
        mh_function(id: UInt32(id), fn: fn)
    }

    private static var worker: WorkerContext? { WorkerContext.shared }

    // MARK: strings

    static func text(_ value: mh_str) -> String {
        guard let pointer = value.ptr, value.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: value.len), as: UTF8.self)
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

    /// The configuration with the plugin's default standing in for a
    /// parameter that neither main.cf, -o nor Postfix defines.
    static func config(_ name: String, default fallback: String) -> MainConfig? {
        guard let worker else { return nil }
        if worker.config.rawValue(name) != nil || ParameterDefaults.value(name) != nil { return worker.config }
        return worker.config.with(overrides: [(name, fallback)])
    }

    // MARK: the functions

    static let log: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, Int) -> Void = { _, level, text, length in
        let message = text.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
        switch level {
        case Int32(MH_LOG_WARNING.rawValue): MasterLog.warning(message)
        case Int32(MH_LOG_ERROR.rawValue): MasterLog.error(message)
        case Int32(MH_LOG_FATAL.rawValue): MasterLog.fatal(message)
        default: MasterLog.info(message)
        }
    }

    static let paramString: @convention(c) (OpaquePointer?, mh_str, mh_str, UnsafeMutablePointer<CChar>?, Int) -> Int = { _, name, fallback, buffer, size in
        let key = text(name)
        let value = (try? config(key, default: text(fallback))?.value(key)) ?? text(fallback)
        return copy(value, buffer, size)
    }

    static let paramInt: @convention(c) (OpaquePointer?, mh_str, Int64) -> Int64 = { _, name, fallback in
        let key = text(name)
        guard let value = try? config(key, default: String(fallback))?.integer(key) else { return fallback }
        return Int64(value)
    }

    static let paramBool: @convention(c) (OpaquePointer?, mh_str, Int32) -> Int32 = { _, name, fallback in
        let key = text(name)
        guard let value = try? config(key, default: fallback != 0 ? "yes" : "no")?.boolean(key) else { return fallback }
        return value ? 1 : 0
    }

    static let paramTime: @convention(c) (OpaquePointer?, mh_str, mh_str) -> Int64 = { _, name, fallback in
        let key = text(name)
        guard let value = try? config(key, default: text(fallback))?.seconds(key) else { return -1 }
        return Int64(value)
    }

    static let sendTrigger: @convention(c) (OpaquePointer?, mh_str, UnsafePointer<CChar>?, Int) -> Int32 = { _, service, data, length in
        let bytes = data.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        return Triggers.send(to: text(service), bytes) ? 0 : -1
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

    static let clientFD: @convention(c) (OpaquePointer?) -> Int32 = { client in
        guard let client else { return -1 }
        return ClientHandle(client).fd
    }

    static let clientDone: @convention(c) (OpaquePointer?, OpaquePointer?) -> Void = { _, client in
        guard let worker, let client else { return }
        let handle = ClientHandle(client)
        Skeletons.clientDone(worker, handle)
        handle.release()
    }

    static let watchRead: @convention(c) (OpaquePointer?, Int32, (@convention(c) (UnsafeMutableRawPointer?, Int32) -> Void)?, UnsafeMutableRawPointer?) -> Int32 = { _, fd, callback, context in
        guard let worker, let callback, fd >= 0 else { return -1 }
        worker.loop.watchReadable(fd) { _ in callback(context, fd) }
        return 0
    }

    static let unwatch: @convention(c) (OpaquePointer?, Int32) -> Void = { _, fd in
        worker?.loop.unwatch(fd)
    }

    static let timer: @convention(c) (OpaquePointer?, Int64, (@convention(c) (UnsafeMutableRawPointer?) -> Void)?, UnsafeMutableRawPointer?) -> Int32 = { _, milliseconds, callback, context in
        guard let worker, let callback else { return -1 }
        worker.loop.after(Double(max(0, milliseconds)) / 1000) { callback(context) }
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
