// expansion - "$name" expansion (PostfixConfig's MacroExpander through
// MainConfig.value and .expand): the input is a main.cf text, a NUL byte,
// then a text to expand against it. Recursion, unbalanced braces and
// conditional forms ${name?x} ${name:x} ${name?{x}:{y}} must end in a value
// or an error, never a crash or a hang.
import PostfixConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpansion(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let mainCf = String(decoding: input.field(until: 0), as: UTF8.self)
    let expression = String(decoding: input.rest(), as: UTF8.self)
    guard let config = try? MainConfig.parse(text: mainCf, path: "/fuzz/main.cf", configDirectory: "/fuzz") else { return 0 }
    _ = try? config.expand(expression)
    for name in config.explicitNames { _ = try? config.value(name) }
    return 0
}
