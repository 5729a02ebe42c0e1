// master_cf - master.cf parsing: the master's reader (PostfixConfig's
// MasterConfig.parse, under settings chosen by the first byte) and
// postconf's (PostconfKit's MasterTable.parse, the parameter usage it
// warns about, and its -M/-F/-P output, plain and folded).
// Host names are resolved with getaddrinfo: fuzz/run runs targets in a
// network namespace so a lookup fails at once instead of waiting for DNS.
import PostfixConfig
@testable import PostconfKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMasterCf(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let choice = Int(input.byte())
    let text = String(decoding: input.rest(), as: UTF8.self)
    let options = MasterParseOptions(
        defaultProcessLimit: 100,
        compatibilityLevel: ["3.6", "0", "2", "1.1"][choice & 3],
        disabled: ServiceDisableFilter(["", "smtp/inet", "inet", "pickup"][(choice >> 2) & 3]),
        inetInterfaces: ["loopback-only", "all", "127.0.0.1", "127.0.0.1, [::1]"][(choice >> 4) & 3],
        inetProtocols: ["ipv4", "all", "ipv6", ""][(choice >> 6) & 3],
        knownTcpPorts: "lmtp=24, smtp=25, smtps=submissions=465, submission=587")
    if let config = try? MasterConfig.parse(text: text, path: "/fuzz/master.cf", options: options) {
        for entry in config.entries {
            require(!entry.name.isEmpty, "entry without a name on line \(entry.line)")
        }
    }
    if let table = try? MasterTable.parse(text, path: "/fuzz/master.cf"),
       let main = try? MainConfig.parse(text: "", path: "/fuzz/main.cf", configDirectory: "/fuzz") {
        let usage = ParameterUsage(main: main, master: table, configDirectory: "/fuzz", registerUser: true)
        _ = usage.unusedMaster
        for mode: PostconfMode in [.master, .fields, .serviceParameters] {
            for fold: PostconfMode in [[], .fold] {
                _ = try? MasterQuery(mode: mode.union(fold), entries: table, settings: usage.entrySettings, main: main).run([])
            }
        }
    }
    return 0
}
