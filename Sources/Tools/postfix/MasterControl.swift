// MasterControl: asking and telling the instance's master daemon.
// Guarantees: "running" is decided by `$daemon_directory/master -t` as stock
// does (exit 0 = not running); the pid comes from $queue_directory/pid/master.pid;
// signals go to that pid (or its process group for the forced stop).

#if canImport(Glibc)
import ChildProcesses
import Glibc
#endif
import ToolSupport

struct MasterControl {
    let daemonDirectory: String
    let queueDirectory: String
    let env: [String]

    var masterPath: String { daemonDirectory + "/master" }

    func isRunning() -> Bool {
        let status = (try? ChildProcess.run([masterPath, "-t"], env: env, quietStderr: true)) ?? 0
        return status != 0
    }

    /// First line of pid/master.pid, as a number.
    func pid() -> pid_t? {
        guard let bytes = try? ToolFiles.read(queueDirectory + "/pid/master.pid") else { return nil }
        let text = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
        return pid_t(text.split(separator: " ").first.map(String.init) ?? "")
    }

    func pidText() -> String {
        guard let bytes = try? ToolFiles.read(queueDirectory + "/pid/master.pid") else { return "" }
        return String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
    }

    @discardableResult
    func signal(_ sig: Int32, group: Bool = false) -> Bool {
        guard let p = pid(), p > 0 else { return false }
        return kill(group ? -p : p, sig) == 0
    }
}

enum ToolFiles {
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ProcessError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<4096 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        return data
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
