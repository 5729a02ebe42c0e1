// SDKTests.swift - the Swift SDK against the C ABI, without a host process:
// descriptors it builds, table lookup, typed parameters, the C thunks
// (INIT, SERVE, TRIGGER) and the rule that no Swift error crosses.
import XCTest
import Glibc
import PluginRuntimeVersion
@testable import PluginAPI

final class EchoLike: SingleServer {
    static let name = "echolike"
    static let version = "2.5"
    let greeting: String
    init(host: ServiceHost) throws { greeting = host.string("echo_greeting", default: "hi") }
    func serve(client: Client, host: ServiceHost) throws {
        let bytes = try client.read()
        try client.write(Array(greeting.utf8) + bytes)
    }
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
    override func setUp() { FakeHost.reset() }

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
        XCTAssertEqual(callbacks(d), [UInt32(MH_PLUGIN_INIT), UInt32(MH_PLUGIN_SERVE), UInt32(MH_PLUGIN_PRE_EXIT)])
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

    func testTableLookup() {
        let table = FakeHost.table()
        table.withUnsafeBufferPointer { t in
            XCTAssertNotNil(lookupFunction(t.baseAddress, UInt32(MH_HOST_LOG)))
            XCTAssertNotNil(lookupFunction(t.baseAddress, UInt32(MH_HOST_ARG)))
            XCTAssertNil(lookupFunction(t.baseAddress, UInt32(MH_HOST_TIMER)), "absent id")
            XCTAssertNil(lookupFunction(t.baseAddress, 0))
            // Same answer as the header's own mh_lookup.
            XCTAssertEqual(lookupFunction(t.baseAddress, UInt32(MH_HOST_PARAM_INT)).map { unsafeBitCast($0, to: UnsafeRawPointer.self) },
                           mh_lookup(t.baseAddress, UInt32(MH_HOST_PARAM_INT)).map { unsafeBitCast($0, to: UnsafeRawPointer.self) })
        }
        XCTAssertNil(lookupFunction(nil, UInt32(MH_HOST_LOG)))
        let host = ServiceHost(handle: nil, table: HostTable(nil))
        XCTAssertEqual(host.string("x", default: "d"), "d", "no host function: the default")
        XCTAssertEqual(host.int("x", default: 7), 7)
        XCTAssertEqual(host.time("x", default: "2m"), 120)
        XCTAssertEqual(host.arguments, [])
    }

    func testParameters() {
        let long = String(repeating: "x", count: 1000)   // longer than the SDK's first buffer
        FakeHost.parameters = ["s": "value", "long": long, "n": "42", "b": "yes", "t": "3h", "empty": ""]
        let host = FakeHost.host()
        XCTAssertEqual(host.string("s", default: "d"), "value")
        XCTAssertEqual(host.string("missing", default: "dflt"), "dflt")
        XCTAssertEqual(host.string("long", default: ""), long)
        XCTAssertEqual(host.string("empty", default: "d"), "")
        XCTAssertEqual(host.string("ünïcode", default: "é"), "é")
        XCTAssertEqual(host.int("n", default: 1), 42)
        XCTAssertEqual(host.int("missing", default: -5), -5)
        XCTAssertTrue(host.bool("b", default: false))
        XCTAssertFalse(host.bool("missing", default: false))
        XCTAssertEqual(host.time("t", default: "1s"), 10800)
        XCTAssertEqual(host.time("missing", default: "1000s"), 1000)
        XCTAssertEqual(host.serviceName, "fakesvc")
        XCTAssertEqual(host.serviceType, "unix")
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

    func testArgumentsLogsAndTriggers() throws {
        FakeHost.arguments = ["user=nobody", "argv=/bin/cat", "-n"]
        let host = FakeHost.host()
        XCTAssertEqual(host.arguments, ["user=nobody", "argv=/bin/cat", "-n"])
        host.info("one")
        host.warning("two")
        host.error("three")
        XCTAssertEqual(FakeHost.logs.map { $0.0 }, [0, 1, 2])
        XCTAssertEqual(FakeHost.logs.map { $0.1 }, ["one", "two", "three"])
        try host.sendTrigger(service: "public/qmgr", data: Array("W".utf8))
        XCTAssertEqual(FakeHost.triggers.first?.0, "public/qmgr")
        XCTAssertEqual(FakeHost.triggers.first?.1, [87])
    }

    /// INIT then SERVE through the descriptor's C function pointers, on a socketpair.
    func testInitAndServeThroughTheCallbacks() throws {
        FakeHost.parameters = ["echo_greeting": ">"]
        let d = PluginExport.descriptor(for: EchoLike.self)
        let (mine, theirs) = try socketPair()
        defer { close(mine); close(theirs) }
        FakeHost.clientFD = theirs
        let state = try initialize(d)
        XCTAssertEqual(write(mine, "ping", 4), 4)
        XCTAssertEqual(serve(d, state), 0)
        var buf = [UInt8](repeating: 0, count: 16)
        let n = read(mine, &buf, buf.count)
        XCTAssertEqual(String(decoding: buf[0..<max(0, n)], as: UTF8.self), ">ping")
    }

    func testSwiftErrorsBecomeMinusOneAndAreLogged() throws {
        let d = PluginExport.descriptor(for: Thrower.self)
        let state = try initialize(d)
        XCTAssertEqual(serve(d, state), -1)
        XCTAssertTrue(FakeHost.logs.contains { $0.0 == 2 && $0.1.contains("boom") }, "\(FakeHost.logs)")

        let r = PluginExport.descriptor(for: RefusesInit.self)
        var raw: UnsafeMutableRawPointer? = nil
        let initFn = unsafeBitCast(lookupFunction(r.pointee.callbacks, UInt32(MH_PLUGIN_INIT)), to: mh_init_fn.self)
        let rc = FakeHost.table().withUnsafeBufferPointer { initFn(nil, $0.baseAddress, &raw) }
        XCTAssertEqual(rc, -1)
        XCTAssertNil(raw)
        XCTAssertTrue(FakeHost.logs.contains { $0.1.contains("no config") })
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
        let rc = FakeHost.table().withUnsafeBufferPointer { initFn(nil, $0.baseAddress, &state) }
        guard rc == 0 else { throw PluginError("INIT returned \(rc): \(FakeHost.logs)") }
        return state
    }

    func serve(_ d: UnsafePointer<mh_plugin_descriptor>, _ state: UnsafeMutableRawPointer?) -> Int32 {
        guard let f = lookupFunction(d.pointee.callbacks, UInt32(MH_PLUGIN_SERVE)) else { return -99 }
        return unsafeBitCast(f, to: mh_serve_fn.self)(nil, state, nil)
    }

    func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw PluginError("socketpair") }
        return (fds[0], fds[1])
    }
}
