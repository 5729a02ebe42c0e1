// ABICompatibilityTests.swift - ABI 1.1 is a minor version: plugins built
// against the 1.0 header, kept frozen in Fixtures/abi-1.0, load and work
// under the 1.1 host unchanged. That covers the example in
// contrib/example-plugin and a fixture of every server model, including the
// event model's watch_read/unwatch/timer and the 1.0 misuse refusals.
//
// The other direction (a 1.1 plugin on a 1.0 host is refused by name) is
// the 1.0 host's "ABI minor" and "required capabilities" checks, which the
// 1.1 host still runs: PluginEndToEndTests (higher_minor) and
// MasterProtocolTests.PluginDescriptorTests show them.
import Foundation
import XCTest
import TestSupport
import Glibc

final class ABICompatibilityTests: PluginTestCase {
    /// The ABI minor a built plugin declares, read by loading it here.
    private func declaredMinor(_ path: String) throws -> UInt16 {
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw HarnessError("dlopen \(path): \(String(cString: dlerror()))")
        }
        defer { dlclose(library) }
        guard let entry = dlsym(library, "mailhost_plugin_entry") else { throw HarnessError("\(path): no entry") }
        typealias Entry = @convention(c) () -> UnsafeRawPointer?
        guard let descriptor = unsafeBitCast(entry, to: Entry.self)() else { throw HarnessError("\(path): NULL descriptor") }
        return descriptor.loadUnaligned(fromByteOffset: 6, as: UInt16.self)
    }

    func testPluginsBuiltAgainstTheFrozen10HeaderRunUnderThe11Host() throws {
        let inst = try makeInstance()
        let old = PluginEnv.abi10Include
        var built: [String] = []
        for fixture in ["single_echo", "multi_echo", "event_echo", "trigger_append", "misuse_event"] {
            built.append(try inst.buildFixture(fixture, to: inst.libexec + "/\(fixture)10.so", include: old))
        }
        let example = TestEnv.packageRoot.appendingPathComponent("contrib/example-plugin/counter.c").path
        built.append(try inst.buildFixture("counter", to: inst.libexec + "/counter10.so", include: old, source: example))
        for path in built {
            XCTAssertEqual(try declaredMinor(path), 0, "\(path) was not built against the 1.0 header")
        }
        let out = inst.dir + "/trigger10.out"
        try inst.appendMasterCf("""
            old_single unix - n n - - single_echo10
            old_multi unix - n n - 1 multi_echo10
            old_event unix - n n - 1 event_echo10
            old_trigger unix - n n - 1 trigger_append10 -o fixture_trigger_file=\(out)
            old_misuse unix - n n - 1 misuse_event10
            old_counter unix - n n - 1 counter10 -o counter_start=41
            """)
        try inst.start()
        let mark = inst.logMark()

        assertEchoes(inst, "old_single")
        let multi = try unixFD(inst.socket("old_multi"))
        defer { close(multi) }
        XCTAssertTrue(Wire.exchange(multi, "m1\n").hasSuffix(":m1\n"), "1.0 multi plugin")
        assertEchoes(inst, "old_event")

        let trigger = try unixFD(inst.socket("old_trigger"))
        XCTAssertTrue(Wire.send(trigger, "old-trigger"))
        close(trigger)
        XCTAssertTrue(waitUntil(timeout: 10) { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("old-trigger") },
                      "1.0 trigger plugin")

        // The 1.0 misuse refusals are unchanged, and the worker goes on.
        let misuse = try unixFD(inst.socket("old_misuse"))
        defer { close(misuse) }
        XCTAssertTrue(try request(misuse, "badfd").hasSuffix(":badfd:-1,-1,-1,-1,-1"), "1.0 refusals")
        XCTAssertTrue(try request(misuse, "timer").hasSuffix(":timer:-1"), "1.0 NULL timer callback")
        XCTAssertTrue(try request(misuse, "still").hasSuffix(":echo:still"), "1.0 event plugin after refusals")

        let counter = try unixFD(inst.socket("old_counter"))
        defer { close(counter) }
        XCTAssertTrue(try request(counter, "hi").hasPrefix("count 42 (pid "), "contrib/example-plugin built against 1.0")

        XCTAssertTrue(inst.logLines(since: mark, containing: "refused: ").isEmpty, inst.log(since: mark))
        XCTAssertTrue(inst.logLines(since: mark, containing: "fatal:").isEmpty, inst.log(since: mark))
    }
}
