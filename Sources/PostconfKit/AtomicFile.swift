// AtomicFile: whole-file reads and replace-by-rename writes with Glibc only.
// Guarantees: a reader of `path` sees either the old or the new content, never
// a partial one; the temporary is "<path>.tmp" as stock postconf uses, created
// mode 0644 (before umask); errors carry the stock "open <path>: <reason>" form.

#if canImport(Glibc)
import Glibc
#endif

public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum AtomicFile {
    /// The whole file, or nil when it does not exist.
    public static func readIfPresent(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw FileError("open \(path): \(errorText(errno))")
        }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return data }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError("read \(path): \(errorText(errno))")
            }
            data += chunk[0..<n]
        }
    }

    /// Fails like stock when "<path>.tmp" cannot be created (missing directory).
    public static func probeDirectory(of path: String) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open \(tmp): \(errorText(errno))") }
        close(fd)
        unlink(tmp)
    }

    /// Writes `bytes` to "<path>.tmp", fsyncs, and renames it over `path`.
    public static func replace(_ path: String, with bytes: [UInt8]) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("open \(tmp): \(errorText(errno))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd); unlink(tmp)
                throw FileError("write \(tmp): \(errorText(code))")
            }
            offset += n
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            let code = errno
            unlink(tmp)
            throw FileError("close \(tmp): \(errorText(code))")
        }
        guard rename(tmp, path) == 0 else {
            let code = errno
            unlink(tmp)
            throw FileError("rename \(tmp) \(path): \(errorText(code))")
        }
    }
}

/// strerror(3) text.
public func errorText(_ code: Int32) -> String {
    guard let p = strerror(code) else { return "Unknown error \(code)" }
    return String(cString: p)
}
