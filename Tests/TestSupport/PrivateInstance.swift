// TestSupport: the shared harness of the end-to-end test targets: a private Postfix instance in a temporary
// directory, driven by the stock postfix(1) command and stock daemons, with the
// master binary under test installed as DIR/libexec/master.
//
// Everything here is real: processes, loopback sockets, files. Every process a
// test starts is stopped by pid in tearDown (PrivateInstance.destroy(),
// SmtpSink.stop()).
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

// MARK: - Environment

public enum TestEnv {
    /// The package root, derived from this file's location (Tests/HostTests/..).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let stockDaemonDir = "/usr/lib/postfix/sbin"
    /// Stock master and postfix(1): requirements() checks them (and the
    /// postconf they run) against Debian's package checksums (StockBinaries).
    public static let stockMaster = StockBinaries.masterPath
    public static let postfixCommand = StockBinaries.postfixPath

    /// The master under test: $MAILHOST_MASTER, else <package root>/.build/debug/master.
    public static var masterUnderTest: String {
        if let m = ProcessInfo.processInfo.environment["MAILHOST_MASTER"], !m.isEmpty { return m }
        return packageRoot.appendingPathComponent(".build/debug/master").path
    }

    /// lib<name>.so built beside the master under test (a plugin of this build).
    public static func builtPlugin(_ name: String) -> String {
        URL(fileURLWithPath: masterUnderTest).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("lib\(name).so").path
    }

    public static var isStockMaster: Bool {
        URL(fileURLWithPath: masterUnderTest).resolvingSymlinksInPath().path == stockMaster
    }

    /// Fails (throws) loudly when the machine cannot run the end-to-end tests.
    public static func requirements() throws {
        // Tests write to peers that may die on purpose (crash tests): an
        // EPIPE must fail that write, not kill the whole test process.
        signal(SIGPIPE, SIG_IGN)
        guard geteuid() == 0 else {
            throw HarnessError("HostTests need root (the Postfix master and postfix(1) refuse to run otherwise); run swift test as root")
        }
        let fm = FileManager.default
        // Stock in place: postfix (with the postconf and scripts it runs) and the master.
        _ = try StockBinaries.postfix()
        guard try StockBinaries.master() == stockMaster else {
            throw HarnessError("\(stockMaster) is not Debian's file: restore it with apt-get install --reinstall postfix")
        }
        for p in [postfixCommand, StockBinaries.postconfPath, "/usr/sbin/sendmail", "/usr/sbin/smtp-sink",
                  "/usr/sbin/smtp-source", stockDaemonDir + "/smtpd", stockDaemonDir + "/postfix-script"] {
            guard fm.isExecutableFile(atPath: p) else {
                throw HarnessError("\(p) missing: HostTests need the Debian 'postfix' package (apt-get install postfix)")
            }
        }
        let m = masterUnderTest
        guard fm.isExecutableFile(atPath: m) else {
            throw HarnessError("master under test \(m) does not exist or is not executable: build it (swift build) or set MAILHOST_MASTER")
        }
        for s in ["make-instance", "install-daemon-dir"] {
            let p = packageRoot.appendingPathComponent("contrib/" + s).path
            guard fm.isExecutableFile(atPath: p) else { throw HarnessError("\(p) missing") }
        }
    }
}

// MARK: - Running commands

public struct CommandResult {
    public let status: Int32
    public let output: String   // stdout and stderr, interleaved
    public let timedOut: Bool
}

/// Runs a command to completion (bounded by `timeout`), stdin from /dev/null
/// (or the given text, through a pipe), stdout+stderr captured through a
/// temporary file. Started with posix_spawn, not Foundation's Process: in
/// swift-corelibs-foundation, Process.run reads past a heap buffer while it
/// scans /proc/self/fd when the caller has a couple of thousand descriptors
/// open (FloodTests does), which AddressSanitizer reports and which can
/// otherwise corrupt the test process.
@discardableResult
public func runCommand(_ path: String, _ args: [String], env: [String: String]? = nil, stdin: String? = nil,
         timeout: TimeInterval = 60) throws -> CommandResult {
    let outPath = NSTemporaryDirectory() + "hosttests-out-\(getpid())-\(UUID().uuidString)"
    defer { unlink(outPath) }
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env ?? [:] { environment[k] = v }
    var inputPipe: [Int32] = [-1, -1]
    if stdin != nil {
        guard pipe(&inputPipe) == 0 else { throw HarnessError("pipe: \(String(cString: strerror(errno)))") }
        inputPipe.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
    }
    let pid: pid_t
    do {
        defer { if inputPipe[0] >= 0 { close(inputPipe[0]) } }
        pid = try spawn(path, args, environment: environment, stdinPipe: inputPipe[0], outputPath: outPath)
    }
    if let text = stdin {
        writeAll(inputPipe[1], Array(text.utf8))
        close(inputPipe[1])
    }
    let (status, timedOut) = waitForExit(pid, timeout: timeout)
    let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    return CommandResult(status: timedOut ? -1 : status, output: text, timedOut: timedOut)
}

/// Starts a command that the caller waits for (waitpid) or stops itself,
/// stdin and output on /dev/null, this process's environment with `env`
/// added; `newSession`: in a session of its own, as systemd starts a service.
public func startCommand(_ path: String, _ args: [String], env: [String: String] = [:],
                         newSession: Bool = false) throws -> pid_t {
    let environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    return try spawn(path, args, environment: environment, stdinPipe: -1, outputPath: "/dev/null",
                     newSession: newSession)
}

/// posix_spawn with stdin from `stdinPipe` (or /dev/null when it is -1),
/// stdout and stderr into a new file at `outputPath`, default signal
/// actions and an empty signal mask.
private func spawn(_ path: String, _ args: [String], environment: [String: String],
                   stdinPipe: Int32, outputPath: String, newSession: Bool = false) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if stdinPipe >= 0 {
        posix_spawn_file_actions_adddup2(&actions, stdinPipe, 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t(), everySignal = sigset_t()
    sigemptyset(&noSignals)
    sigfillset(&everySignal)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &everySignal)
    let setSession: Int32 = newSession ? 0x80 : 0   // POSIX_SPAWN_SETSID (glibc 2.26)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setSession))
    let argv = ([path] + args).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard rc == 0 else { throw HarnessError("posix_spawn \(path): \(String(cString: strerror(rc)))") }
    return pid
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var done = 0
    while done < bytes.count {
        let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }   // the reader went away: what it did not read is lost, as with any pipe
        done += n
    }
}

/// Waits for `pid`, killing it with SIGKILL once `timeout` has passed.
/// Returns the exit status (the signal number when a signal ended it, as
/// Foundation's terminationStatus did) and whether it timed out.
private func waitForExit(_ pid: pid_t, timeout: TimeInterval) -> (Int32, Bool) {
    let deadline = Date().addingTimeInterval(timeout)
    var timedOut = false
    var status: Int32 = 0
    while true {
        let r = waitpid(pid, &status, timedOut ? 0 : WNOHANG)
        if r == pid { break }
        if r < 0 && errno != EINTR { return (-1, timedOut) }
        if !timedOut && Date() > deadline {
            timedOut = true
            kill(pid, SIGKILL)
            continue
        }
        usleep(10_000)
    }
    let signal = status & 0x7f
    return (signal == 0 ? (status >> 8) & 0xff : signal, timedOut)
}

/// Polls `cond` every `interval` until it holds or `timeout` passes.
@discardableResult
public func waitUntil(timeout: TimeInterval, interval: TimeInterval = 0.05, _ cond: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try cond() { return true }
        if Date() > deadline { return false }
        usleep(useconds_t(interval * 1_000_000))
    }
}

/// Runs a command whose syslog(3) output we need to see: in a private mount
/// namespace (unshare -m) whose /dev is a fresh tmpfs with null, zero, random,
/// urandom, and a /dev/log that is a datagram socket of ours. Nothing outside
/// the namespace changes. The stock master logs errors that happen before it
/// has read main.cf's maillog_file (e.g. the lock failure) only to syslog, and
/// this machine may have no syslog daemon.
/// Returns the command's result and the syslog records it sent.
public func runCapturingSyslog(_ path: String, _ args: [String], socketDir: String,
                        timeout: TimeInterval = 60) throws -> (CommandResult, [String]) {
    let sockPath = socketDir + "/syslog-capture.sock"
    unlink(sockPath)
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket(AF_UNIX): \(errno)") }
    defer { close(fd); unlink(sockPath) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(sockPath.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw HarnessError("socket path too long: \(sockPath)") }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let r = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard r == 0 else { throw HarnessError("bind \(sockPath): \(errno)") }
    chmod(sockPath, 0o666)
    let script = """
        mount -t tmpfs -o mode=755 mailhost-testdev /dev && \
        mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 && \
        mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9 && \
        ln -s "$SYSLOG_CAPTURE" /dev/log || { echo "runCapturingSyslog: cannot set up a private /dev (need CAP_SYS_ADMIN)"; exit 126; }
        # Foundation's Process makes us a process group leader, where a master's
        # setsid() would fail: setsid(1) forks first when that is the case.
        exec setsid --wait "$0" "$@"
        """
    let res = try runCommand("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script, path] + args,
                             env: ["SYSLOG_CAPTURE": sockPath], timeout: timeout)
    if res.status == 126 || res.output.contains("unshare failed") || res.output.contains("unshare: ") {
        throw HarnessError("cannot capture syslog: \(res.output) (the test needs root with CAP_SYS_ADMIN for unshare -m)")
    }
    var records: [String] = []
    var buf = [UInt8](repeating: 0, count: 8192)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        records.append(String(decoding: buf[0..<n], as: UTF8.self))
    }
    return (res, records)
}

// MARK: - Sockets (loopback only)

public enum Net {
    /// A port that was free on 127.0.0.1 a moment ago (bind port 0, read it, close).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { throw HarnessError("bind: \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Distinct free ports.
    public static func freePorts(_ n: Int) throws -> [Int] {
        var ports: [Int] = []
        while ports.count < n {
            let p = try freePort()
            if !ports.contains(p) { ports.append(p) }
        }
        return ports
    }

    public static func loopback(port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    public enum ConnectResult { case connected(Int32), refused, failed(Int32) }

    /// Connects to 127.0.0.1:port (close-on-exec socket), bounded by `timeout`.
    public static func connect(port: Int, timeout: TimeInterval = 5) -> ConnectResult {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failed(errno) }
        var addr = loopback(port: port)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 {
            let e = errno
            if e == ECONNREFUSED { close(fd); return .refused }
            guard e == EINPROGRESS else { close(fd); return .failed(e) }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&pfd, 1, Int32(timeout * 1000))
            guard n == 1 else { close(fd); return .failed(ETIMEDOUT) }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err == ECONNREFUSED { close(fd); return .refused }
            if err != 0 { close(fd); return .failed(err) }
        }
        // Back to blocking mode; reads are bounded with poll().
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        return .connected(fd)
    }

    /// Reads what arrives within `timeout` up to the first CRLF; nil on timeout,
    /// "" on EOF before any data.
    public static func readLine(fd: Int32, timeout: TimeInterval) -> String? {
        var data = [UInt8]()
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, Int32(max(1, left * 1000)))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            var buf = [UInt8](repeating: 0, count: 512)
            let got = read(fd, &buf, buf.count)
            if got < 0 { return errno == EINTR ? nil : "" }
            if got == 0 { return String(decoding: data, as: UTF8.self) }
            data.append(contentsOf: buf[0..<got])
            if data.contains(10) { return String(decoding: data, as: UTF8.self) }
        }
    }

    /// Connects and returns the server's first line (the SMTP banner), nil if
    /// the connection fails or no line arrives within `timeout`.
    public static func banner(port: Int, timeout: TimeInterval = 10) -> String? {
        guard case .connected(let fd) = connect(port: port, timeout: timeout) else { return nil }
        defer { close(fd) }
        guard let line = readLine(fd: fd, timeout: timeout), !line.isEmpty else { return nil }
        _ = "QUIT\r\n".withCString { write(fd, $0, 6) }
        return line
    }

    /// Whether a server on the port greets with an SMTP "220 " banner within
    /// `timeout`: a Bool, so a check cannot pass on a missing or other banner.
    public static func greets(port: Int, timeout: TimeInterval = 10) -> Bool {
        banner(port: port, timeout: timeout)?.hasPrefix("220 ") == true
    }

    public static func isRefused(port: Int) -> Bool {
        switch connect(port: port, timeout: 2) {
        case .refused: return true
        case .connected(let fd): close(fd); return false
        case .failed: return false
        }
    }

    /// Waits until something accepts connections on the port.
    public static func waitListening(port: Int, timeout: TimeInterval) -> Bool {
        waitUntil(timeout: timeout) {
            if case .connected(let fd) = connect(port: port, timeout: 1) { close(fd); return true }
            return false
        }
    }
}

// MARK: - /proc

public enum UnixSocket {
    /// Connects to a unix-domain stream socket and returns the lines it
    /// sends before closing (e.g. the master's pid/master.status report).
    public static func readLines(_ path: String) throws -> [String] {
        guard let fd = connect(path) else {
            throw HarnessError("connect \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Connects to a unix-domain stream socket; nil on failure.
    public static func connect(_ path: String) -> Int32? {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 { close(fd); return nil }
        return fd
    }
}

public enum Proc {
    public struct Info { public let pid: pid_t; public let ppid: pid_t; public let state: Character }

    public static func info(_ pid: pid_t) -> Info? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = s.lastIndex(of: ")") else { return nil }
        // After "pid (comm) ": state ppid ...
        let rest = s[s.index(after: close)...].split(separator: " ")
        guard rest.count > 2, let ppid = pid_t(rest[1]) else { return nil }
        return Info(pid: pid, ppid: ppid, state: rest[0].first ?? "?")
    }

    /// Field values after the comm field of /proc/<pid>/stat (index 0 = state).
    public static func statFields(_ pid: pid_t) -> [Substring]? {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = s.lastIndex(of: ")") else { return nil }
        return s[s.index(after: close)...].split(separator: " ")
    }

    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, let i = info(pid) else { return false }
        return i.state != "Z" && i.state != "X"
    }

    public static func allPids() -> [pid_t] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { pid_t($0) }
    }

    public static func children(of parent: pid_t) -> [pid_t] {
        allPids().filter { info($0)?.ppid == parent && isAlive($0) }
    }

    public static func cmdline(_ pid: pid_t) -> [String] {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return d.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func cwd(_ pid: pid_t) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
    }

    /// Kills one process by pid and waits (bounded) for it to go away; works for
    /// processes that are not our children (polls /proc).
    public static func terminate(_ pid: pid_t, graceful: TimeInterval = 10) {
        guard isAlive(pid) else { return }
        kill(pid, SIGTERM)
        if !waitUntil(timeout: graceful, { !isAlive(pid) }) {
            kill(pid, SIGKILL)
            waitUntil(timeout: 5) { !isAlive(pid) }
        }
    }
}

// MARK: - The instance

public final class PrivateInstance {
    public let dir: String
    public let smtpPort: Int
    public let relayPort: Int?
    public let master: String
    public var etc: String { dir + "/etc" }
    public var queue: String { dir + "/queue" }
    public var libexec: String { dir + "/libexec" }
    public var logFile: String { dir + "/log/maillog" }
    public var masterCf: String { etc + "/master.cf" }
    public var mainCf: String { etc + "/main.cf" }
    /// Pids of every master seen running for this instance (for cleanup).
    private var mastersSeen = Set<pid_t>()

    /// Creates a fresh instance with contrib/make-instance in a new temporary
    /// directory under /tmp (searchable by postfix and nobody).
    public init(master: String = TestEnv.masterUnderTest, relayPort: Int? = nil, smtpPort: Int? = nil) throws {
        var template = Array("/tmp/mailhost-e2e-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw HarnessError("mkdtemp failed: \(errno)") }
        dir = String(cString: p)
        self.master = master
        self.relayPort = relayPort
        self.smtpPort = try smtpPort ?? Net.freePort()
        var args = [dir, "--master", master, "--smtp-port", String(self.smtpPort)]
        if let r = relayPort { args += ["--relay-port", String(r)] }
        let r = try runCommand(TestEnv.packageRoot.appendingPathComponent("contrib/make-instance").path, args,
                        env: ["MAIL_CONFIG": ""], timeout: 120)
        guard r.status == 0 else {
            throw HarnessError("make-instance \(args) failed (\(r.status)):\n\(r.output)")
        }
    }

    // MARK: configuration

    /// Appends lines to master.cf.
    public func appendMasterCf(_ lines: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: masterCf))
        defer { try? h.close() }
        h.seekToEndOfFile()
        h.write(("\n" + lines + "\n").data(using: .utf8)!)
    }

    /// Removes master.cf lines that start with `prefix`.
    public func removeMasterCfLines(startingWith prefix: String) throws {
        let text = try String(contentsOfFile: masterCf, encoding: .utf8)
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix(prefix) }
        try kept.joined(separator: "\n").write(toFile: masterCf, atomically: true, encoding: .utf8)
    }

    public func masterCfLineCount() throws -> Int {
        try String(contentsOfFile: masterCf, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).count
    }

    // MARK: control

    /// Runs the stock postfix(1) command against this instance.
    @discardableResult
    public func postfix(_ args: String..., timeout: TimeInterval = 60) throws -> CommandResult {
        let r = try runCommand(TestEnv.postfixCommand, ["-c", etc] + args, env: ["MAIL_CONFIG": etc], timeout: timeout)
        if let pid = masterPid() { mastersSeen.insert(pid) }
        return r
    }

    /// `postfix start`, then waits until the master's pid is known and the smtpd
    /// port accepts connections.
    public func start() throws {
        let r = try postfix("start", timeout: 120)
        guard r.status == 0 else {
            throw HarnessError("postfix -c \(etc) start failed (\(r.status)):\n\(r.output)\n--- log:\n\(logTail())")
        }
        try awaitRunning()
    }

    /// Runs the master directly: DIR/libexec/master -w -c DIR/etc.
    public func startDirect() throws {
        let r = try runCommand(libexec + "/master", ["-w", "-c", etc], timeout: 120)
        guard r.status == 0 else {
            throw HarnessError("master -w failed (\(r.status)):\n\(r.output)\n--- log:\n\(logTail())")
        }
        try awaitRunning()
    }

    private func awaitRunning() throws {
        guard waitUntil(timeout: 10, { masterPid() != nil }) else {
            throw HarnessError("master started but no live pid in \(queue)/pid/master.pid\n--- log:\n\(logTail())")
        }
        mastersSeen.insert(masterPid()!)
        guard Net.waitListening(port: smtpPort, timeout: 10) else {
            throw HarnessError("smtpd port \(smtpPort) not accepting connections\n--- log:\n\(logTail())")
        }
    }

    /// The pid in pid/master.pid if that process is alive.
    public func masterPid() -> pid_t? {
        guard let s = try? String(contentsOfFile: queue + "/pid/master.pid", encoding: .utf8),
              let pid = pid_t(s.trimmingCharacters(in: .whitespacesAndNewlines)), Proc.isAlive(pid) else { return nil }
        return pid
    }

    /// The master's live children.
    public func children() -> [pid_t] {
        guard let m = masterPid() else { return [] }
        return Proc.children(of: m)
    }

    /// The master's live children whose command line contains `needle`.
    public func children(matching needle: String) -> [pid_t] {
        children().filter { Proc.cmdline($0).joined(separator: " ").contains(needle) }
    }

    /// Stops the master by the pid in its pid file (SIGTERM, bounded wait, then
    /// SIGKILL), then any leftover process of this instance (cwd in the queue
    /// directory: daemons, postdrop, ...). A pid is signalled only while its
    /// process still works in this instance's queue directory: with pid_max
    /// 32768 and tests that fork thousands of processes, the number of a
    /// master that exited long ago may belong to someone else's process now.
    public func stopAll() {
        if let pid = masterPid() { mastersSeen.insert(pid) }
        for pid in mastersSeen where isOurs(pid) { Proc.terminate(pid) }
        for pid in strayProcesses() { Proc.terminate(pid, graceful: 3) }
    }

    private func isOurs(_ pid: pid_t) -> Bool {
        Proc.cwd(pid)?.hasPrefix(queue) == true
    }

    /// Live processes whose working directory is this instance's queue directory.
    public func strayProcesses() -> [pid_t] {
        let me = getpid()
        return Proc.allPids().filter { $0 != me && Proc.isAlive($0) && Proc.cwd($0)?.hasPrefix(queue) == true }
    }

    /// stopAll(), then removes the directory.
    public func destroy() {
        stopAll()
        if ProcessInfo.processInfo.environment["HOSTTESTS_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    // MARK: log

    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// Current size of the log; pass to `waitForLog(since:)` to look only at newer lines.
    public func logMark() -> Int {
        var st = stat()
        return stat(logFile, &st) == 0 ? Int(st.st_size) : 0
    }

    public func log(since mark: Int) -> String {
        guard let h = FileHandle(forReadingAtPath: logFile) else { return "" }
        defer { try? h.close() }
        h.seek(toFileOffset: UInt64(mark))
        return String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
    }

    public func logLines(since mark: Int = 0, containing needle: String) -> [String] {
        log(since: mark).split(separator: "\n").map(String.init).filter { $0.contains(needle) }
    }

    /// Waits until a log line (after `mark`) contains every string in `needles`.
    @discardableResult
    public func waitForLog(_ needles: String..., since mark: Int = 0, timeout: TimeInterval = 30) -> String? {
        var found: String? = nil
        waitUntil(timeout: timeout, interval: 0.1) {
            found = log(since: mark).split(separator: "\n").first { line in needles.allSatisfy { line.contains($0) } }.map(String.init)
            return found != nil
        }
        return found
    }

    public func logTail(_ n: Int = 60) -> String {
        log().split(separator: "\n").filter { !$0.contains("symlink leaves directory") }.suffix(n).joined(separator: "\n")
    }

    /// Number of `status=sent` delivery lines.
    public func sentCount(since mark: Int = 0) -> Int {
        logLines(since: mark, containing: "status=sent").count
    }

    // MARK: queue

    /// Files in the queues that hold mail (maildrop, incoming, active, deferred, hold).
    public func queuedFiles() -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        for q in ["maildrop", "incoming", "active", "deferred", "hold"] {
            let base = queue + "/" + q
            guard let e = fm.enumerator(atPath: base) else { continue }
            for case let f as String in e {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: base + "/" + f, isDirectory: &isDir), !isDir.boolValue { files.append(q + "/" + f) }
            }
        }
        return files
    }

    public func waitQueueEmpty(timeout: TimeInterval = 30) -> Bool {
        waitUntil(timeout: timeout, interval: 0.2) { queuedFiles().isEmpty }
    }

    // MARK: mail

    /// Submits a message with the stock sendmail(1) against this instance.
    public func sendmail(to rcpt: String, body: String) throws -> CommandResult {
        try runCommand("/usr/sbin/sendmail", ["-C", etc, "-f", "root@localhost", rcpt], env: ["MAIL_CONFIG": etc],
                stdin: body, timeout: 60)
    }

    /// Injects `messages` over `sessions` SMTP sessions into smtpd with smtp-source.
    public func smtpSource(sessions: Int, messages: Int, port: Int? = nil, to rcpt: String = "rcpt@example.com",
                    timeout: TimeInterval = 300) throws -> CommandResult {
        try runCommand("/usr/sbin/smtp-source", ["-s", String(sessions), "-m", String(messages), "-f", "sender@example.com",
                                         "-t", rcpt, "127.0.0.1:\(port ?? smtpPort)"], timeout: timeout)
    }

    /// Mailbox content delivered to `user` under DIR/mail (maildir or mbox file).
    public func mailbox(_ user: String) -> [String] {
        let base = dir + "/mail/" + user
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: base, isDirectory: &isDir) else { return [] }
        if !isDir.boolValue { return [(try? String(contentsOfFile: base, encoding: .utf8)) ?? ""] }
        var out: [String] = []
        for sub in ["new", "cur"] {
            for f in (try? fm.contentsOfDirectory(atPath: base + "/" + sub)) ?? [] {
                out.append((try? String(contentsOfFile: base + "/" + sub + "/" + f, encoding: .utf8)) ?? "")
            }
        }
        return out
    }
}

// MARK: - smtp-sink

/// A stock smtp-sink on 127.0.0.1:port, counting messages (`-c`).
public final class SmtpSink {
    public let port: Int
    private let process = Process()
    private let outPath: String

    /// `dumpDirectory`: every message is also written to its own file there (-d).
    public init(port: Int? = nil, dumpDirectory: String? = nil) throws {
        self.port = try port ?? Net.freePort()
        outPath = NSTemporaryDirectory() + "hosttests-sink-\(getpid())-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/smtp-sink")
        let dump = dumpDirectory.map { ["-d", $0 + "/%H%M%S."] } ?? []
        process.arguments = ["-u", "nobody", "-c"] + dump + ["127.0.0.1:\(self.port)", "100"]
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        try? out.close()
        guard Net.waitListening(port: self.port, timeout: 10) else {
            stop()
            throw HarnessError("smtp-sink did not listen on 127.0.0.1:\(self.port): \(output())")
        }
    }

    public var pid: pid_t { process.processIdentifier }

    public func output() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

    /// Messages received so far (the last `mesg=N` counter).
    public var messageCount: Int {
        let s = output()
        guard let r = s.range(of: "mesg=", options: .backwards) else { return 0 }
        let digits = s[r.upperBound...].prefix { $0.isNumber }
        return Int(digits) ?? 0
    }

    @discardableResult
    public func waitForMessages(_ n: Int, timeout: TimeInterval) -> Bool {
        waitUntil(timeout: timeout, interval: 0.1) { messageCount >= n }
    }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            if !waitUntil(timeout: 5, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        unlink(outPath)
    }
}
