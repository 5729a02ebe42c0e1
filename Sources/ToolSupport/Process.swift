// Process: run a program and wait, or replace this process with one.
// Guarantees: children get exactly the environment passed (no inheritance
// beyond it), stdin/stdout/stderr are inherited unless redirected to
// /dev/null; the status is the exit code, or 128+signal for a signal death;
// spawn failures come back as a ProcessError naming the program.

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
    /// Runs `argv` with `env`, stdout inherited, stderr captured (at most
    /// 64 KiB kept); returns the status and the captured text without its
    /// trailing newlines.
    public static func runCapturingStderr(_ argv: [String], env: [String]) throws -> (Int32, String) {
        guard let path = argv.first else { throw ProcessError("empty command") }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ProcessError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var pid: pid_t = 0
        let code = withCStrings(argv) { cargv in withCStrings(env) { cenv in posix_spawn(&pid, path, &actions, nil, cargv, cenv) } }
        close(fds[1])
        defer { close(fds[0]) }
        guard code == 0 else { throw ProcessError("\(path): \(String(cString: strerror(code)))") }
        var captured: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<1_000_000 {
            let n = read(fds[0], &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if captured.count < 65536 { captured += chunk[0..<n] }
        }
        let status = waitFor(pid)
        while captured.last == 0x0A { captured.removeLast() }
        return (status, String(decoding: captured, as: UTF8.self))
    }
}
