// ChildProcess: run a program and wait (optionally capturing its output),
// or replace this process with one. Glibc only: used by the tools and, in
// a worker still outside its chroot, by the queue library (postmap -s).
// Guarantees: children get exactly the environment passed (no inheritance
// beyond it), stdin/stdout/stderr are inherited unless redirected to
// /dev/null or captured; captured output is read from both pipes together,
// so a child filling one never waits on a reader blocked on the other; the
// status is the exit code, or 128+signal for a signal death; spawn failures
// come back as a ProcessError naming the program.

#if canImport(Glibc)
import Glibc
#endif

public struct ProcessError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum ChildProcess {
    /// Runs `argv` (argv[0] is the path) with `env`, waits, returns its status.
    @discardableResult
    public static func run(_ argv: [String], env: [String], quietStderr: Bool = false,
                           quietStdout: Bool = false, wait: Bool = true) throws -> Int32 {
        guard let path = argv.first else { throw ProcessError("empty command") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if quietStdout { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        if quietStderr { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
        var pid: pid_t = 0
        let code = withCStrings(argv) { cargv in
            withCStrings(env) { cenv in
                posix_spawnp(&pid, path, &actions, nil, cargv, cenv)
            }
        }
        guard code == 0 else { throw ProcessError("\(path): \(String(cString: strerror(code)))") }
        guard wait else { return 0 }
        return waitFor(pid)
    }

    /// Waits for `pid`; exit code, or 128 + signal number.
    public static func waitFor(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 127 }
        }
        let low = status & 0x7f
        if low == 0 { return (status >> 8) & 0xff }
        return 128 + low
    }

    /// execve/execvp; returns only with the error.
    public static func exec(_ argv: [String], env: [String], searchPath: Bool = false) -> ProcessError {
        guard let name = argv.first else { return ProcessError("empty command") }
        let path = searchPath ? resolve(name) : name
        _ = withCStrings(argv) { cargv in
            withCStrings(env) { cenv in execve(path, cargv, cenv) }
        }
        return ProcessError("\(name): \(String(cString: strerror(errno)))")
    }

    /// execvp's search: a name without "/" is looked up in this process's PATH.
    static func resolve(_ name: String) -> String {
        if name.contains("/") { return name }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/bin:/usr/bin"
        for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 {
            return "\(dir)/\(name)"
        }
        return name
    }
}

/// NUL-terminated C string array for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return body(pointers)
}

/// The current environment as "NAME=value" strings.
public func currentEnvironment() -> [String] {
    var result: [String] = []
    var p = environ
    var count = 0
    while let entry = p.pointee, count < 100_000 {
        result.append(String(cString: entry))
        p += 1
        count += 1
    }
    return result
}

/// Value of NAME in an environment list.
public func lookup(_ name: String, in env: [String]) -> String? {
    let prefix = name + "="
    return env.last(where: { $0.hasPrefix(prefix) }).map { String($0.dropFirst(prefix.count)) }
}

/// env with NAME set to value (replacing any earlier NAME).
public func setting(_ name: String, _ value: String, in env: [String]) -> [String] {
    env.filter { !$0.hasPrefix(name + "=") } + [name + "=" + value]
}

extension ChildProcess {
    /// What `runCapturing` collected.
    public struct Captured: Equatable, Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    /// Runs `argv` with `env` and stdin from /dev/null, waits, and returns
    /// its status with what it wrote on stderr and, when `stdout` is true,
    /// on stdout (else stdout is inherited). At most `limit` bytes of each
    /// are kept; the rest is read and dropped so the child never blocks.
    public static func runCapturing(_ argv: [String], env: [String], stdout: Bool,
                                    limit: Int = 64 << 20) throws -> Captured {
        guard let path = argv.first else { throw ProcessError("empty command") }
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&errPipe) == 0 else { throw ProcessError("pipe: \(String(cString: strerror(errno)))") }
        if stdout && pipe(&outPipe) != 0 {
            let e = errno
            close(errPipe[0]); close(errPipe[1])
            throw ProcessError("pipe: \(String(cString: strerror(e)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if stdout { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1) }
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe where fd >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
        var pid: pid_t = 0
        let code = withCStrings(argv) { cargv in withCStrings(env) { cenv in posix_spawn(&pid, path, &actions, nil, cargv, cenv) } }
        for fd in [outPipe[1], errPipe[1]] where fd >= 0 { close(fd) }
        defer { for fd in [outPipe[0], errPipe[0]] where fd >= 0 { close(fd) } }
        guard code == 0 else { throw ProcessError("\(path): \(String(cString: strerror(code)))") }
        let (out, err) = readBoth(outPipe[0], errPipe[0], limit: limit)
        return Captured(status: waitFor(pid), stdout: out, stderr: err)
    }

    /// Runs `argv` with `env`, stdout inherited, stderr captured (at most
    /// 64 KiB kept); returns the status and the captured text without its
    /// trailing newlines.
    public static func runCapturingStderr(_ argv: [String], env: [String]) throws -> (Int32, String) {
        var captured = try runCapturing(argv, env: env, stdout: false, limit: 65536)
        while captured.stderr.last == 0x0A { captured.stderr.removeLast() }
        return (captured.status, String(decoding: captured.stderr, as: UTF8.self))
    }

    /// Reads both pipes (-1: none) to their ends together (poll).
    private static func readBoth(_ outFD: Int32, _ errFD: Int32, limit: Int) -> ([UInt8], [UInt8]) {
        var data: [[UInt8]] = [[], []]
        var open = [outFD >= 0, errFD >= 0]
        let fds = [outFD, errFD]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open[0] || open[1] {
            var polled = [pollfd(fd: open[0] ? fds[0] : -1, events: Int16(POLLIN), revents: 0),
                          pollfd(fd: open[1] ? fds[1] : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&polled, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<2 where open[index] && polled[index].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[index], $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { open[index] = false; continue }
                let room = max(0, limit - data[index].count)
                data[index] += buffer[0..<min(n, room)]
            }
        }
        return (data[0], data[1])
    }
}
