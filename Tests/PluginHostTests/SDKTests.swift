// SDKTests.swift - the Swift SDK's own parts, without a host: the
// descriptors it builds, table lookup, what ServiceHost gives when the host
// provides no function, time syntax, the line reader, and the C thunks
// (INIT, SERVE, TRIGGER) returning -1 for a Swift error. Everything that
// needs host functions runs against the real master: SDKHostTests.swift.
import XCTest
import Glibc
import PluginRuntimeVersion
@testable import PluginAPI

final class EchoLike: SingleServer {
    static let name = "echolike"
    static let version = "2.5"
    init(host: ServiceHost) throws {}
    func serve(client: Client, host: ServiceHost) throws {}
}

final class Thrower: SingleServer {
    static let name = "thrower"
    init(host: ServiceHost) throws {}
    func serve(client: Client, host: ServiceHost) throws { throw PluginError("boom") }
}

final class RefusesInit: MultiServer {
    static let name = "refuses"
    init(host: ServiceHost) throws { throw PluginError("no config") }
    func serve(client: Client, host: ServiceHost) throws -> Disposition { .keep }
}

final class Collector: TriggerServer {
    static let name = "collector"
    nonisolated(unsafe) static var received: [[UInt8]] = []
    init(host: ServiceHost) throws {}
    func trigger(data: [UInt8], host: ServiceHost) throws { Collector.received.append(data) }
}

final class Watcher: EventServer {
    static let name = "watcher"
    init(host: ServiceHost) throws {}
    func accept(client: Client, host: ServiceHost) throws {}
}

final class SDKTests: XCTestCase {
    func callbacks(_ d: UnsafePointer<mh_plugin_descriptor>) -> [UInt32] {
        var ids: [UInt32] = []
        var e = d.pointee.callbacks
        while let entry = e, entry.pointee.id != 0, ids.count < 100 { ids.append(entry.pointee.id); e = entry + 1 }
        return ids
    }

    func testDescriptorFields() {
        let d = PluginExport.descriptor(for: EchoLike.self)
        XCTAssertEqual(d.pointee.magic, UInt32(MH_PLUGIN_MAGIC))
        XCTAssertEqual(d.pointee.magic, 0x4d48504c)
        XCTAssertEqual(Int(d.pointee.abi_major), Int(MH_ABI_MAJOR))
        XCTAssertEqual(Int(d.pointee.abi_minor), Int(MH_ABI_MINOR))
        XCTAssertEqual(Int(d.pointee.size), MemoryLayout<mh_plugin_descriptor>.size)
        XCTAssertEqual(d.pointee.server_model, UInt32(MH_MODEL_SINGLE.rawValue))
        XCTAssertEqual(string(from: d.pointee.name), "echolike")
        XCTAssertEqual(string(from: d.pointee.version), "2.5")
        XCTAssertEqual(string(from: d.pointee.swift_runtime), SwiftRuntime.version)
        #if compiler(>=6.3) && !compiler(>=6.4)
        XCTAssertEqual(SwiftRuntime.version, "6.3")
        #endif
        XCTAssertEqual(d.pointee.required_capabilities, UInt64(MH_CAP_PARAMETERS | MH_CAP_LOGGING))
        XCTAssertEqual(callbacks(d), [UInt32(MH_PLUGIN_PRE_INIT), UInt32(MH_PLUGIN_INIT), UInt32(MH_PLUGIN_SERVE), UInt32(MH_PLUGIN_PRE_EXIT)])
        XCTAssertEqual(PluginExport.descriptor(for: EchoLike.self), d, "built once, stable pointer")
    }

    func testDescriptorModelsAndCallbacks() {
        XCTAssertEqual(PluginExport.descriptor(for: RefusesInit.self).pointee.server_model, UInt32(MH_MODEL_MULTI.rawValue))
        let t = PluginExport.descriptor(for: Collector.self)
        XCTAssertEqual(t.pointee.server_model, UInt32(MH_MODEL_TRIGGER.rawValue))
        XCTAssertTrue(callbacks(t).contains(UInt32(MH_PLUGIN_TRIGGER)))
        XCTAssertFalse(callbacks(t).contains(UInt32(MH_PLUGIN_SERVE)))
        let e = PluginExport.descriptor(for: Watcher.self)
        XCTAssertEqual(e.pointee.server_model, UInt32(MH_MODEL_EVENT.rawValue))
        XCTAssertTrue(callbacks(e).contains(UInt32(MH_PLUGIN_ACCEPT)))
        XCTAssertNotEqual(e.pointee.required_capabilities & UInt64(MH_CAP_EVENTS), 0)
    }

    /// A table of {id, function} pairs as the ABI defines it (the functions
    /// are never called): lookup by id, unknown ids skipped, {0, NULL} ends it.
    func testTableLookup() {
        let first: mh_log_fn = { _, _, _, _ in }
        let second: mh_arg_count_fn = { _ in 0 }
        let table = [
            mh_function(id: 777, fn: unsafeBitCast(second, to: mh_fn.self)),
            mh_function(id: UInt32(MH_HOST_LOG), fn: unsafeBitCast(first, to: mh_fn.self)),
            mh_function(id: UInt32(MH_HOST_ARG_COUNT), fn: unsafeBitCast(second, to: mh_fn.self)),
            mh_function(id: 0, fn: nil),
            mh_function(id: UInt32(MH_HOST_TIMER), fn: unsafeBitCast(first, to: mh_fn.self)),
        ]
        func address(_ fn: mh_fn?) -> UnsafeRawPointer? { fn.map { unsafeBitCast($0, to: UnsafeRawPointer.self) } }
        table.withUnsafeBufferPointer { t in
            XCTAssertEqual(address(lookupFunction(t.baseAddress, UInt32(MH_HOST_LOG))), address(unsafeBitCast(first, to: mh_fn.self)))
            XCTAssertEqual(address(lookupFunction(t.baseAddress, UInt32(MH_HOST_ARG_COUNT))), address(unsafeBitCast(second, to: mh_fn.self)))
            XCTAssertNil(lookupFunction(t.baseAddress, UInt32(MH_HOST_TIMER)), "after the terminator")
            XCTAssertNil(lookupFunction(t.baseAddress, UInt32(MH_HOST_ARG)), "absent id")
            XCTAssertNil(lookupFunction(t.baseAddress, 0))
            // Same answers as the header's own mh_lookup.
            for id in [MH_HOST_LOG, MH_HOST_ARG_COUNT, MH_HOST_TIMER, MH_HOST_ARG, 777] {
                XCTAssertEqual(address(lookupFunction(t.baseAddress, UInt32(id))), address(mh_lookup(t.baseAddress, UInt32(id))), "id \(id)")
            }
        }
        XCTAssertNil(lookupFunction(nil, UInt32(MH_HOST_LOG)))
    }

    /// A host that provides no function: every lookup gives the plugin's default.
    func testNoHostFunctionGivesTheDefaults() {
        let host = ServiceHost(handle: nil, table: HostTable(nil))
        XCTAssertEqual(host.string("x", default: "d"), "d")
        XCTAssertEqual(host.int("x", default: 7), 7)
        XCTAssertTrue(host.bool("x", default: true))
        XCTAssertEqual(host.time("x", default: "2m"), 120)
        XCTAssertEqual(host.arguments, [])
        XCTAssertEqual(host.serviceName, "")
        XCTAssertThrowsError(try host.sendTrigger(service: "public/qmgr", data: [87]))
    }

    func testTimeSyntax() {
        XCTAssertEqual(ServiceHost.seconds("100"), 100)
        XCTAssertEqual(ServiceHost.seconds("100s"), 100)
        XCTAssertEqual(ServiceHost.seconds("2m"), 120)
        XCTAssertEqual(ServiceHost.seconds("1d"), 86400)
        XCTAssertEqual(ServiceHost.seconds("1w"), 604800)
        XCTAssertNil(ServiceHost.seconds("1x"))
        XCTAssertNil(ServiceHost.seconds("s"))
    }

    /// No Swift error crosses the C boundary: the thunks return -1 (the
    /// error's log record through a real host: SDKHostTests).
    func testSwiftErrorsBecomeMinusOne() throws {
        let d = PluginExport.descriptor(for: Thrower.self)
        let state = try initialize(d)
        XCTAssertEqual(serve(d, state), -1)

        let r = PluginExport.descriptor(for: RefusesInit.self)
        var raw: UnsafeMutableRawPointer? = nil
        let initFn = unsafeBitCast(lookupFunction(r.pointee.callbacks, UInt32(MH_PLUGIN_INIT)), to: mh_init_fn.self)
        XCTAssertEqual(initFn(nil, nil, &raw), -1)
        XCTAssertNil(raw)
    }

    func testTriggerGetsTheBytes() throws {
        Collector.received = []
        let d = PluginExport.descriptor(for: Collector.self)
        let state = try initialize(d)
        let fn = unsafeBitCast(lookupFunction(d.pointee.callbacks, UInt32(MH_PLUGIN_TRIGGER)), to: mh_trigger_fn.self)
        XCTAssertEqual("wakeup".withCString { fn(nil, state, $0, 6) }, 0)
        XCTAssertEqual(fn(nil, state, nil, 0), 0)
        XCTAssertEqual(Collector.received, [Array("wakeup".utf8), []])
    }

    func testLineReader() {
        var r = LineReader(limit: 4)
        XCTAssertEqual(r.feed(Array("ab\ncd".utf8)), [Array("ab".utf8)])
        XCTAssertEqual(r.feed(Array("e\n".utf8)), [Array("cde".utf8)])
        XCTAssertEqual(r.feed(Array("123456".utf8)), [Array("1234".utf8)])
        XCTAssertEqual(r.remainder, Array("56".utf8))
    }

    // MARK: helpers

    func initialize(_ d: UnsafePointer<mh_plugin_descriptor>) throws -> UnsafeMutableRawPointer? {
        guard let f = lookupFunction(d.pointee.callbacks, UInt32(MH_PLUGIN_INIT)) else { throw PluginError("no INIT") }
        let initFn = unsafeBitCast(f, to: mh_init_fn.self)
        var state: UnsafeMutableRawPointer? = nil
        let rc = initFn(nil, nil, &state)
        guard rc == 0 else { throw PluginError("INIT returned \(rc)") }
        return state
    }

    func serve(_ d: UnsafePointer<mh_plugin_descriptor>, _ state: UnsafeMutableRawPointer?) -> Int32 {
        guard let f = lookupFunction(d.pointee.callbacks, UInt32(MH_PLUGIN_SERVE)) else { return -99 }
        return unsafeBitCast(f, to: mh_serve_fn.self)(nil, state, nil)
    }
}
