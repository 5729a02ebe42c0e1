// FileOps: the few file-system steps of the instance life cycle, with Glibc.
// Guarantees: makeDirectories creates missing parents like `mkdir -p` with the
// given mode; copyPreserving copies bytes, mode, owner and times like `cp -p`;
// removeDirectory reports a failure in coreutils rmdir's words on stderr and
// returns false; nothing loops without a bound.

#if canImport(Glibc)
import Glibc
#endif
import PostconfKit

enum FileOps {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    /// `mkdir -p path` under a umask giving `mode`.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if isDirectory(prefix) { continue }
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                throw PostmultiError("mkdir: cannot create directory '\(prefix)': \(errorText(errno))")
            }
        }
    }

    /// `cp -p from to`.
    static func copyPreserving(_ from: String, _ to: String) throws {
        var st = stat()
        guard stat(from, &st) == 0, let bytes = try AtomicFile.readIfPresent(from) else {
            throw PostmultiError("cp: cannot stat '\(from)': \(errorText(errno))")
        }
        let fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0o7777)
        guard fd >= 0 else { throw PostmultiError("cp: cannot create regular file '\(to)': \(errorText(errno))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress.map { $0 + offset }, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PostmultiError("cp: error writing '\(to)': \(errorText(errno))") }
            offset += n
        }
        _ = fchown(fd, st.st_uid, st.st_gid)
        _ = fchmod(fd, st.st_mode & 0o7777)
        var times = [st.st_atim, st.st_mtim]
        _ = futimens(fd, &times)
    }

    /// `rmdir -- path`; on failure prints rmdir's complaint and returns false.
    @discardableResult
    static func removeDirectory(_ path: String) -> Bool {
        if rmdir(path) == 0 { return true }
        fputs("rmdir: failed to remove '\(path)': \(errorText(errno))\n", stderr)
        return false
    }

    /// The physical current directory.
    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(cString: buffer)
    }
}
