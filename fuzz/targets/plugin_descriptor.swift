// plugin_descriptor - the host's reading and checking of a plugin descriptor
// (MasterProtocol's PluginInfo, run by the validator and by every worker):
// the input is the descriptor's bytes, copied into an allocation of exactly
// the size the descriptor declares (at least its 12-byte header), so reading
// a field beyond the declared size is an out-of-bounds read AddressSanitizer
// reports. Pointer fields are never taken from the input: each is null or
// points into a string area or a callback table built from the input, as a
// well-formed plugin's would; the table always ends with id 0.
import MailhostPluginABI
import MasterProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPluginDescriptor(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let full = MemoryLayout<mh_plugin_descriptor>.size
    let header = Array((0..<full).map { _ in input.byte() })
    let pointerChoice = input.byte()
    let strings = input.field(until: 0)
    let table = callbackTable(input.rest())

    var descriptor = mh_plugin_descriptor()
    withUnsafeMutableBytes(of: &descriptor) { $0.copyBytes(from: header) }
    let declared = Int(descriptor.size) % (full + 16)
    descriptor.size = UInt32(declared)

    let stringArea = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, strings.count))
    defer { stringArea.deallocate() }
    strings.withUnsafeBytes { raw in
        for (i, byte) in raw.enumerated() { stringArea[i] = CChar(bitPattern: byte) }
    }
    func text(_ bit: UInt8, _ field: mh_str) -> mh_str {
        guard pointerChoice & bit != 0 else { return mh_str(ptr: nil, len: field.len) }
        let start = Int(UInt(bitPattern: field.len & 0xffff)) % (strings.count + 1)
        return mh_str(ptr: stringArea + start, len: strings.count - start)
    }
    descriptor.name = text(1, descriptor.name)
    descriptor.version = text(2, descriptor.version)
    descriptor.swift_runtime = text(4, descriptor.swift_runtime)

    let callbacks = UnsafeMutablePointer<mh_function>.allocate(capacity: table.count)
    defer { callbacks.deallocate() }
    callbacks.initialize(from: table, count: table.count)
    descriptor.callbacks = pointerChoice & 8 != 0 ? UnsafePointer(callbacks) : nil

    let copy = UnsafeMutableRawPointer.allocate(byteCount: max(12, declared), alignment: MemoryLayout<mh_plugin_descriptor>.alignment)
    defer { copy.deallocate() }
    withUnsafeBytes(of: &descriptor) { copy.copyMemory(from: $0.baseAddress!, byteCount: min(max(12, declared), full)) }

    let info = PluginInfo(descriptor: UnsafeRawPointer(copy))
    let problems = info.problems()
    require(info.callbackIDs.count < table.count, "read \(info.callbackIDs.count) callbacks from a table of \(table.count - 1)")
    require(info.name.utf8.count <= 4 * strings.count, "name longer than the string area")
    if declared < full && info.magic == PluginABI.magic {
        require(!problems.isEmpty, "a descriptor of \(declared) bytes was accepted")
    }
    return 0
}

/// Callback entries from the input (ids only; functions are never called),
/// always ended by the {0, NULL} entry.
private func callbackTable(_ bytes: [UInt8]) -> [mh_function] {
    var entries: [mh_function] = []
    var index = 0
    while index + 4 <= bytes.count && entries.count < 2048 {
        let id = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
        entries.append(mh_function(id: id, fn: nil))
        index += 4
    }
    entries.append(mh_function(id: 0, fn: nil))
    return entries
}
