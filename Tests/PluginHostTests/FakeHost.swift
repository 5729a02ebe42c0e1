// FakeHost.swift - a host function table made of test functions, for testing
// the SDK against the C ABI itself: the SDK only ever sees {id, function}
// pairs, so a table of C-convention test functions is the real thing.
//
// State is global because C function pointers cannot capture; tests reset it
// in setUp. Strings are copied with the host's "copy into the caller's
// buffer, return the full length" rule, so the SDK's retry path is exercised.
import PluginAPI

enum FakeHost {
    nonisolated(unsafe) static var parameters: [String: String] = [:]
    nonisolated(unsafe) static var logs: [(Int32, String)] = []
    nonisolated(unsafe) static var arguments: [String] = []
    nonisolated(unsafe) static var triggers: [(String, [UInt8])] = []
    nonisolated(unsafe) static var clientFD: Int32 = -1
    static let serviceName = "fakesvc"

    static func reset() {
        parameters = [:]
        logs = []
        arguments = []
        triggers = []
        clientFD = -1
    }

    static func text(_ s: mh_str) -> String { string(from: s) }

    /// Copies `value` into (buf, size) as the ABI says; returns its length.
    static func copy(_ value: String, _ buf: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
        let bytes = Array(value.utf8)
        if let buf, bytes.count < size {
            for (i, b) in bytes.enumerated() { buf[i] = CChar(bitPattern: b) }
            buf[bytes.count] = 0
        }
        return bytes.count
    }

    static let log: mh_log_fn = { _, level, text, len in
        let s = text.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: len), as: UTF8.self) } ?? ""
        FakeHost.logs.append((level, s))
    }
    static let paramString: mh_param_string_fn = { _, name, dflt, buf, size in
        FakeHost.copy(FakeHost.parameters[FakeHost.text(name)] ?? FakeHost.text(dflt), buf, size)
    }
    static let paramInt: mh_param_int_fn = { _, name, dflt in
        FakeHost.parameters[FakeHost.text(name)].flatMap { Int64($0) } ?? dflt
    }
    static let paramBool: mh_param_bool_fn = { _, name, dflt in
        guard let v = FakeHost.parameters[FakeHost.text(name)] else { return dflt }
        return v == "yes" ? 1 : 0
    }
    static let paramTime: mh_param_time_fn = { _, name, dflt in
        ServiceHost.seconds(FakeHost.parameters[FakeHost.text(name)] ?? FakeHost.text(dflt)) ?? -1
    }
    static let sendTrigger: mh_send_trigger_fn = { _, service, data, len in
        let bytes = data.map { Array(UnsafeRawBufferPointer(start: $0, count: len)) } ?? []
        FakeHost.triggers.append((FakeHost.text(service), bytes))
        return 0
    }
    static let serviceNameFn: mh_service_name_fn = { _, buf, size in FakeHost.copy(FakeHost.serviceName, buf, size) }
    static let serviceTypeFn: mh_service_name_fn = { _, buf, size in FakeHost.copy("unix", buf, size) }
    static let clientFDFn: mh_client_fd_fn = { _ in FakeHost.clientFD }
    static let argCount: mh_arg_count_fn = { _ in FakeHost.arguments.count }
    static let arg: mh_arg_fn = { _, index, buf, size in
        index < FakeHost.arguments.count ? FakeHost.copy(FakeHost.arguments[index], buf, size) : 0
    }

    /// The table, ended by {0, NULL}; includes an unknown id (777) that the
    /// SDK must ignore.
    static func table() -> [mh_function] {
        func entry<F>(_ id: Int, _ f: F) -> mh_function { mh_function(id: UInt32(id), fn: unsafeBitCast(f, to: mh_fn.self)) }
        return [
            entry(MH_HOST_LOG, log), entry(MH_HOST_PARAM_STRING, paramString), entry(MH_HOST_PARAM_INT, paramInt),
            entry(MH_HOST_PARAM_BOOL, paramBool), entry(MH_HOST_PARAM_TIME, paramTime),
            entry(MH_HOST_SEND_TRIGGER, sendTrigger), entry(777, log),
            entry(MH_HOST_SERVICE_NAME, serviceNameFn), entry(MH_HOST_SERVICE_TYPE, serviceTypeFn),
            entry(MH_HOST_CLIENT_FD, clientFDFn), entry(MH_HOST_ARG_COUNT, argCount), entry(MH_HOST_ARG, arg),
            mh_function(id: 0, fn: nil),
        ]
    }

    static func host() -> ServiceHost {
        table().withUnsafeBufferPointer { ServiceHost(handle: nil, table: HostTable($0.baseAddress)) }
    }
}
