// ConfigFile: reads a whole configuration file with plain Glibc calls.
// Guarantees: no Foundation; failure is a ConfigError worded like the stock
// fatal "open <path>: <strerror>" (or "read <path>: <strerror>").

#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file as a String with Glibc (open/read).
public func readConfigFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        throw ConfigError("open \(path): \(errnoText(errno))")
    }
    defer { close(fd) }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR { continue }
            throw ConfigError("read \(path): \(errnoText(errno))")
        }
        data.append(contentsOf: chunk[0..<n])
    }
    return String(bytes: data)
}

/// strerror(3) text for an errno value.
func errnoText(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "error \(code)" }
    return String(cString: p)
}
