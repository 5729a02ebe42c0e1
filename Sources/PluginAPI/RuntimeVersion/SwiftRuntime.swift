// SwiftRuntime.swift - the Swift compiler version recorded in a Swift
// plugin's descriptor (swift_runtime).
//
// The host refuses a Swift plugin whose runtime differs from its own, because
// a plugin links the toolchain's libswiftCore.so. Only major.minor is
// recorded: patch releases of one toolchain keep the runtime ABI. This one
// definition serves both sides: the SDK writes it into descriptors and the
// host compares against it, so they cannot disagree.
public enum SwiftRuntime {
    public static var version: String {
        #if compiler(>=6.4)
        return "6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.1"
        #endif
    }
}
