// PluginABI.swift - the host's reading of mailhost_plugin.h.
//
// Part of MasterProtocol, outside the master's executable, so that the fuzz
// targets (fuzz/) exercise exactly the reader the master and its workers run.
//
// Descriptors are read field by field at their C offsets, and only fields
// that lie within the plugin's declared size, so a plugin built against an
// older minor (shorter descriptor) is read safely; the checks here decide
// whether a plugin may run, and say which field is wrong with both values.

import MailhostPluginABI
import PluginRuntimeVersion

public enum PluginABI {
    public static let entryName = MH_PLUGIN_ENTRY_NAME
    public static let magic = UInt32(MH_PLUGIN_MAGIC)
    public static let major = UInt16(MH_ABI_MAJOR)
    public static let minor = UInt16(MH_ABI_MINOR)
    public static let descriptorSize = UInt32(MemoryLayout<mh_plugin_descriptor>.size)

    /// The Swift compiler that built the host; Swift plugins must match it.
    public static var swiftRuntime: String { SwiftRuntime.version }

    public static func modelName(_ model: UInt32) -> String {
        switch model {
        case UInt32(MH_MODEL_SINGLE.rawValue): return "single"
        case UInt32(MH_MODEL_MULTI.rawValue): return "multi"
        case UInt32(MH_MODEL_TRIGGER.rawValue): return "trigger"
        case UInt32(MH_MODEL_EVENT.rawValue): return "event"
        default: return "unknown"
        }
    }

    /// The capabilities the host offers a plugin of `model`: the event
    /// functions (watches, timers, the loop hook) where the skeleton never
    /// blocks on a client, the event model and (ABI 1.1) the trigger model,
    /// which serves one-shot wakeups and may do asynchronous I/O between them
    /// as qmgr(8) does; everything else in every model.
    public static func offeredCapabilities(model: UInt32) -> UInt64 {
        let everywhere = UInt64(MH_CAP_PARAMETERS) | UInt64(MH_CAP_LOGGING) | UInt64(MH_CAP_TRIGGERS)
            | UInt64(MH_CAP_LIFECYCLE)
        return offersEvents(model: model) ? everywhere | UInt64(MH_CAP_EVENTS) : everywhere
    }

    public static func offersEvents(model: UInt32) -> Bool {
        model == UInt32(MH_MODEL_EVENT.rawValue) || model == UInt32(MH_MODEL_TRIGGER.rawValue)
    }

    /// The callback each model cannot do without, besides INIT.
    public static func requiredCallbacks(model: UInt32) -> [(id: UInt32, name: String)] {
        let initCallback = (UInt32(MH_PLUGIN_INIT), "MH_PLUGIN_INIT")
        switch model {
        case UInt32(MH_MODEL_SINGLE.rawValue), UInt32(MH_MODEL_MULTI.rawValue):
            return [initCallback, (UInt32(MH_PLUGIN_SERVE), "MH_PLUGIN_SERVE")]
        case UInt32(MH_MODEL_TRIGGER.rawValue):
            return [initCallback, (UInt32(MH_PLUGIN_TRIGGER), "MH_PLUGIN_TRIGGER")]
        case UInt32(MH_MODEL_EVENT.rawValue):
            return [initCallback, (UInt32(MH_PLUGIN_ACCEPT), "MH_PLUGIN_ACCEPT")]
        default:
            return [initCallback]
        }
    }
}

/// What a plugin declares about itself, copied out of its descriptor.
public struct PluginInfo: Equatable, Sendable {
    public var magic: UInt32 = 0
    public var major: UInt16 = 0
    public var minor: UInt16 = 0
    public var size: UInt32 = 0
    public var model: UInt32 = 0
    public var name = ""
    public var version = ""
    public var swiftRuntime = ""
    public var capabilities: UInt64 = 0
    public var callbackIDs: [UInt32] = []

    public init() {}

    /// Copies the fields that lie within the declared size.
    public init(descriptor: UnsafeRawPointer) {
        magic = descriptor.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        major = descriptor.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        minor = descriptor.loadUnaligned(fromByteOffset: 6, as: UInt16.self)
        size = descriptor.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        guard magic == PluginABI.magic else { return }
        let typed = descriptor.assumingMemoryBound(to: mh_plugin_descriptor.self)
        func within<T>(_ path: KeyPath<mh_plugin_descriptor, T>) -> Bool {
            guard let offset = MemoryLayout<mh_plugin_descriptor>.offset(of: path) else { return false }
            return offset + MemoryLayout<T>.size <= Int(size)
        }
        if within(\.server_model) { model = typed.pointee.server_model }
        if within(\.name) { name = PluginInfo.string(typed.pointee.name) }
        if within(\.version) { version = PluginInfo.string(typed.pointee.version) }
        if within(\.swift_runtime) { swiftRuntime = PluginInfo.string(typed.pointee.swift_runtime) }
        if within(\.required_capabilities) { capabilities = typed.pointee.required_capabilities }
        if within(\.callbacks) { callbackIDs = PluginInfo.ids(typed.pointee.callbacks) }
    }

    private static func string(_ value: mh_str) -> String {
        guard let pointer = value.ptr, value.len > 0, value.len < 4096 else { return "" }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: value.len)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func ids(_ table: UnsafePointer<mh_function>?) -> [UInt32] {
        guard var entry = table else { return [] }
        var result: [UInt32] = []
        while entry.pointee.id != 0 && result.count < 1024 {
            result.append(entry.pointee.id)
            entry += 1
        }
        return result
    }

    /// Every reason the host cannot run this plugin; empty when it can.
    public func problems() -> [String] {
        guard magic == PluginABI.magic else {
            return [PluginMessages.mismatch("magic", plugin: hex(UInt64(magic)), host: hex(UInt64(PluginABI.magic)))]
        }
        var found: [String] = []
        if major != PluginABI.major {
            found.append(PluginMessages.mismatch("ABI major", plugin: "\(major)", host: "\(PluginABI.major)"))
        }
        if minor > PluginABI.minor {
            found.append(PluginMessages.mismatch("ABI minor", plugin: "\(minor)", host: "\(PluginABI.minor)"))
        }
        if size < PluginABI.descriptorSize {
            found.append(PluginMessages.mismatch("descriptor size", plugin: "\(size)", host: "\(PluginABI.descriptorSize)"))
            return found
        }
        let modelName = PluginABI.modelName(model)
        if modelName == "unknown" {
            found.append(PluginMessages.mismatch("server model", plugin: "\(model)", host: "1-4"))
        }
        if !swiftRuntime.isEmpty && swiftRuntime != PluginABI.swiftRuntime {
            found.append(PluginMessages.mismatch("Swift runtime", plugin: swiftRuntime, host: PluginABI.swiftRuntime))
        }
        let offered = PluginABI.offeredCapabilities(model: model)
        if capabilities & ~offered != 0 {
            found.append(PluginMessages.mismatch("required capabilities", plugin: hex(capabilities),
                                                 host: hex(offered) + " in the \(modelName) server model"))
        }
        for callback in PluginABI.requiredCallbacks(model: model) where !callbackIDs.contains(callback.id) {
            found.append(PluginMessages.missingCallback(callback.name, model: modelName))
        }
        return found
    }

    private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}
