// main_cf - main.cf parsing (PostfixConfig.MainConfig.parse) and the typed
// reads the master makes at start-up (MasterParseOptions, integers, times,
// booleans, lists). Errors are expected outcomes; a crash or hang is a bug.
import PostfixConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMainCf(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzInput(data, size)
    guard let config = try? MainConfig.parse(text: input.text, path: "/fuzz/main.cf", configDirectory: "/fuzz") else { return 0 }
    for name in config.explicitNames {
        require(config.rawValue(name) != nil, "explicit name \(name) has no value")
    }
    _ = try? MasterParseOptions(main: config)
    _ = try? config.integer("default_process_limit")
    _ = try? config.seconds("max_idle")
    _ = try? config.boolean("daemon_timeout")
    _ = try? config.list("import_environment")
    return 0
}
