// SwiftRuntime.swift - the Swift compiler version recorded in a Swift
// plugin's descriptor (swift_runtime).
//
// The host refuses a Swift plugin whose runtime differs from its own. A debug
// plugin links the toolchain's shared libswiftCore.so and so binds to the one
// a debug host has already mapped, which must be the runtime it was built
// for. A release plugin carries its runtime statically (-static-stdlib), as a
// release master does; the two runtimes in one worker never exchange a Swift
// type (only the C ABI crosses), so a mismatch would be survivable there, but
// one rule for both builds keeps plugins portable between them. Only
// major.minor is recorded: patch releases of one toolchain keep the runtime
// ABI. This one definition serves both sides: the SDK writes it into
// descriptors and the host compares against it, so they cannot disagree.
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
