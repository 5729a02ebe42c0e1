// PluginDescriptorTests.swift - PluginInfo's reading of descriptors.
//
// Descriptors are copied into allocations of exactly their declared size, so
// a read past the declared size is an out-of-bounds read that the
// AddressSanitizer build (make asan) reports, and here shows as fields that
// should have stayed zero.
import XCTest
import MailhostPluginABI
import MasterProtocol

final class PluginDescriptorTests: XCTestCase {
    private static let name: StaticString = "sample"
    private static let version: StaticString = "1.2"
    private static let callbacks: [mh_function] = [mh_function(id: UInt32(MH_PLUGIN_INIT), fn: nil),
                                                   mh_function(id: UInt32(MH_PLUGIN_SERVE), fn: nil),
                                                   mh_function(id: 0, fn: nil)]

    private func text(_ s: StaticString) -> mh_str {
        mh_str(ptr: UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self), len: s.utf8CodeUnitCount)
    }

    /// Reads a descriptor from a copy of exactly `declared` bytes of it (at least the 12-byte header).
    private func read(_ descriptor: mh_plugin_descriptor, declared: Int) -> PluginInfo {
        var descriptor = descriptor
        descriptor.size = UInt32(declared)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(12, declared), alignment: MemoryLayout<mh_plugin_descriptor>.alignment)
        defer { copy.deallocate() }
        withUnsafeBytes(of: &descriptor) { copy.copyMemory(from: $0.baseAddress!, byteCount: min(declared, $0.count)) }
        return Self.callbacks.withUnsafeBufferPointer { _ in PluginInfo(descriptor: UnsafeRawPointer(copy)) }
    }

    private func complete() -> mh_plugin_descriptor {
        Self.callbacks.withUnsafeBufferPointer { table in
            mh_plugin_descriptor(magic: MH_PLUGIN_MAGIC, abi_major: UInt16(MH_ABI_MAJOR), abi_minor: UInt16(MH_ABI_MINOR),
                                 size: UInt32(MemoryLayout<mh_plugin_descriptor>.size), server_model: MH_MODEL_SINGLE.rawValue,
                                 name: text(Self.name), version: text(Self.version), swift_runtime: mh_str(ptr: nil, len: 0),
                                 required_capabilities: UInt64(MH_CAP_LOGGING), callbacks: table.baseAddress)
        }
    }

    func testCompleteDescriptorIsReadAndAccepted() {
        let info = read(complete(), declared: MemoryLayout<mh_plugin_descriptor>.size)
        XCTAssertEqual(info.name, "sample")
        XCTAssertEqual(info.version, "1.2")
        XCTAssertEqual(info.model, MH_MODEL_SINGLE.rawValue)
        XCTAssertEqual(info.capabilities, UInt64(MH_CAP_LOGGING))
        XCTAssertEqual(info.callbackIDs, [UInt32(MH_PLUGIN_INIT), UInt32(MH_PLUGIN_SERVE)])
        XCTAssertEqual(info.problems(), [])
    }

    func testFieldsBeyondTheDeclaredSizeAreNotRead() {
        let nameOffset = MemoryLayout<mh_plugin_descriptor>.offset(of: \.name)!
        let info = read(complete(), declared: nameOffset)
        XCTAssertEqual(info.model, MH_MODEL_SINGLE.rawValue)
        XCTAssertEqual(info.name, "")
        XCTAssertEqual(info.callbackIDs, [])
        XCTAssertEqual(info.capabilities, 0)
        XCTAssertEqual(info.problems(), [PluginMessages.mismatch("descriptor size", plugin: "\(nameOffset)",
                                                                 host: "\(MemoryLayout<mh_plugin_descriptor>.size)")])
    }

    func testHeaderOnlyDescriptorWithBadMagicNamesBothValues() {
        var descriptor = complete()
        descriptor.magic = 0x1234
        let info = read(descriptor, declared: 12)
        XCTAssertEqual(info.problems(), [PluginMessages.mismatch("magic", plugin: "0x1234", host: "0x4d48504c")])
    }

    func testEveryProblemIsListed() {
        var descriptor = complete()
        descriptor.abi_major = 9
        descriptor.server_model = 7
        descriptor.required_capabilities = 0x30
        let info = read(descriptor, declared: MemoryLayout<mh_plugin_descriptor>.size)
        XCTAssertEqual(info.problems(), [
            PluginMessages.mismatch("ABI major", plugin: "9", host: "\(MH_ABI_MAJOR)"),
            PluginMessages.mismatch("server model", plugin: "7", host: "1-4"),
            PluginMessages.mismatch("required capabilities", plugin: "0x30", host: "0x17 in the unknown server model"),
        ])
    }

    /// MH_CAP_EVENTS is offered in the event and (ABI 1.1) trigger models
    /// only; MH_CAP_LIFECYCLE (1.1) everywhere.
    func testEventCapabilityIsOfferedInTheEventAndTriggerModelsOnly() {
        var descriptor = complete()
        descriptor.required_capabilities = UInt64(MH_CAP_EVENTS) | UInt64(MH_CAP_LIFECYCLE)
        for (model, name) in [(MH_MODEL_SINGLE, "single"), (MH_MODEL_MULTI, "multi")] {
            descriptor.server_model = model.rawValue
            let problems = read(descriptor, declared: MemoryLayout<mh_plugin_descriptor>.size).problems()
            XCTAssertTrue(problems.contains(PluginMessages.mismatch("required capabilities", plugin: "0x18",
                                                                    host: "0x17 in the \(name) server model")), "\(name): \(problems)")
        }
        for model in [MH_MODEL_EVENT, MH_MODEL_TRIGGER] {
            descriptor.server_model = model.rawValue
            let problems = read(descriptor, declared: MemoryLayout<mh_plugin_descriptor>.size).problems()
            XCTAssertFalse(problems.contains { $0.hasPrefix("required capabilities") }, "\(model): \(problems)")
        }
    }

    /// A bit beyond every capability this ABI knows is refused in every model.
    func testUnknownCapabilityIsRefused() {
        var descriptor = complete()
        descriptor.required_capabilities = UInt64(MH_CAP_KNOWN) + 1
        descriptor.server_model = MH_MODEL_EVENT.rawValue
        let problems = read(descriptor, declared: MemoryLayout<mh_plugin_descriptor>.size).problems()
        XCTAssertTrue(problems.contains(PluginMessages.mismatch("required capabilities", plugin: "0x20",
                                                                host: "0x1f in the event server model")), "\(problems)")
    }
}
