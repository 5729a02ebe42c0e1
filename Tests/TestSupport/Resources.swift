// Resources.swift - what the hardening tests (chaos, exhaustion, floods) add
// to the harness: a process's descriptors, CPU and memory from /proc; its
// open-file limit (prlimit(1)); a pids cgroup to make fork() fail; a tmpfs
// to fill; starting an instance's master under a descriptor limit; and mail
// whose fate is tracked per message (one smtp-source per message, a unique
// Subject token, the reply to the end of DATA).
//
// Everything is real and bounded: cgroups and mounts made here are removed
// by their owner's cleanup, every process started is waited for or killed.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// MARK: - /proc figures of one process

public enum ProcResources {
    /// Open descriptor numbers of `pid`, sorted.
    public static func descriptors(_ pid: pid_t) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return names.compactMap { Int32($0) }.sorted()
    }

    /// The `index`-th descriptor number `pid` does not use (0: the number
    /// its next open() gets). As a soft open-file limit it leaves `index`
    /// descriptors to spare.
    public static func freeDescriptor(_ pid: pid_t, index: Int = 0) -> Int32 {
        let used = Set(descriptors(pid))
        var found = 0
        var fd: Int32 = 0
        while true {
            if !used.contains(fd) {
                if found == index { return fd }
                found += 1
            }
            fd += 1
        }
    }

    /// utime + stime in clock ticks.
    public static func cpuTicks(_ pid: pid_t) -> Int {
        guard let fields = Proc.statFields(pid), fields.count > 12 else { return 0 }
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    public static var ticksPerSecond: Int { sysconf(Int32(_SC_CLK_TCK)) }

    /// VmRSS in kB.
    public static func rssKB(_ pid: pid_t) -> Int {
        statusField(pid, "VmRSS:") ?? 0
    }

    private static func statusField(_ pid: pid_t, _ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }

    /// The soft and hard open-file limits of `pid` (/proc/PID/limits).
    public static func openFileLimit(_ pid: pid_t) -> (soft: String, hard: String)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }) else { return nil }
        let words = line.dropFirst("Max open files".count).split(separator: " ")
        guard words.count >= 2 else { return nil }
        return (String(words[0]), String(words[1]))
    }

    /// Sets the open-file limits of a running process with prlimit(1).
    public static func setOpenFileLimit(_ pid: pid_t, soft: Int, hard: Int) throws {
        let r = try runCommand("/usr/bin/prlimit", ["--pid", String(pid), "--nofile=\(soft):\(hard)"], timeout: 10)
        guard r.status == 0 else { throw HarnessError("prlimit --pid \(pid) --nofile=\(soft):\(hard): \(r.output)") }
    }

    /// /proc/PID/comm: the program name (a plugin worker's is its command).
    public static func comm(_ pid: pid_t) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Fewest descriptors and least RSS over a few samples: the master holds
    /// a wakeup connection until its peer closes, so one sample may catch one.
    public static func restingFigures(_ pid: pid_t, samples: Int = 6) -> (descriptors: Int, rssKB: Int) {
        var fds = Int.max, rss = Int.max
        for _ in 0..<samples {
            fds = min(fds, descriptors(pid).count)
            rss = min(rss, rssKB(pid))
            usleep(500_000)
        }
        return (fds, rss)
    }
}

extension UnixSocket {
    /// What arrives until EOF or `timeout`.
    public static func readToEnd(_ fd: Int32, timeout: TimeInterval) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}

// MARK: - fork() failing: a pids cgroup

/// A pids cgroup of our own (v1 pids hierarchy or v2 with the pids
/// controller). Processes moved in are limited by `pids.max`; `remove()`
/// moves them back to the parent and deletes the group.
public final class PidsCgroup {
    public let path: String
    private let parent: String

    public init(name: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: "/sys/fs/cgroup/pids/cgroup.procs") {
            parent = "/sys/fs/cgroup/pids"
        } else if let controllers = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8),
                  controllers.split(separator: " ").contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "pids" }) {
            parent = "/sys/fs/cgroup"
            // The children of the root get the pids controller (harmless if already on).
            try? "+pids".write(toFile: parent + "/cgroup.subtree_control", atomically: false, encoding: .utf8)
        } else {
            throw HarnessError("no pids cgroup controller (neither /sys/fs/cgroup/pids nor cgroup v2 with pids): the fork-failure test needs one")
        }
        path = parent + "/" + name
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw HarnessError("mkdir \(path): \(String(cString: strerror(errno))) (the test needs a writable cgroup file system)")
        }
        guard fm.fileExists(atPath: path + "/pids.max") else {
            rmdir(path)
            throw HarnessError("\(path) has no pids.max: the pids controller is not enabled there")
        }
    }

    public func add(_ pid: pid_t) throws { try write("cgroup.procs", String(pid)) }

    /// nil: no limit.
    public func limit(_ max: Int?) throws { try write("pids.max", max.map(String.init) ?? "max") }

    public var members: [pid_t] {
        ((try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    public func remove() {
        try? limit(nil)
        for pid in members { try? String(pid).write(toFile: parent + "/cgroup.procs", atomically: false, encoding: .utf8) }
        rmdir(path)
    }

    private func write(_ file: String, _ value: String) throws {
        let fd = open(path + "/" + file, O_WRONLY)
        guard fd >= 0 else { throw HarnessError("open \(path)/\(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let ok = value.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
        guard ok else { throw HarnessError("write \(value) to \(path)/\(file): \(String(cString: strerror(errno)))") }
    }
}

// MARK: - a full file system: tmpfs

/// A small tmpfs mounted over a directory; `fill()` takes every free byte.
public final class Tmpfs {
    public let mountPoint: String
    private var filler: String { mountPoint + "/.filler" }

    public init(at mountPoint: String, megabytes: Int) throws {
        self.mountPoint = mountPoint
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let r = try runCommand("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=755", "mailhost-test", mountPoint])
        guard r.status == 0 else { throw HarnessError("mount tmpfs on \(mountPoint): \(r.output)") }
    }

    public var freeBytes: Int {
        var s = statvfs()
        return statvfs(mountPoint, &s) == 0 ? Int(s.f_bavail) * Int(s.f_frsize) : -1
    }

    /// Writes a file until the file system is full (ENOSPC).
    public func fill() throws {
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HarnessError("open \(filler): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5a, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
        }
        guard freeBytes < (1 << 16) else { throw HarnessError("\(mountPoint) still has \(freeBytes) bytes free after filling") }
    }

    public func unfill() { unlink(filler) }

    public func unmount() {
        _ = try? runCommand("/bin/umount", ["-l", mountPoint], timeout: 30)
    }
}

// MARK: - starting under limits, editing main.cf and master.cf

extension PrivateInstance {
    /// Runs DIR/libexec/master -w under `prlimit --nofile=SOFT:HARD` and, when
    /// it reports success, waits until it runs; returns master -w's result.
    public func startDirect(openFiles soft: Int, hard: Int) throws -> CommandResult {
        let r = try runCommand("/usr/bin/prlimit", ["--nofile=\(soft):\(hard)", "--", libexec + "/master", "-w", "-c", etc],
                               timeout: 120)
        if r.status == 0 {
            guard waitUntil(timeout: 10, { masterPid() != nil }),
                  Net.waitListening(port: smtpPort, timeout: 15) else {
                throw HarnessError("master started under --nofile=\(soft):\(hard) but does not serve\n--- log:\n\(logTail())")
            }
        }
        return r
    }

    /// `postconf -e` with the stock postconf.
    public func setParameters(_ assignments: String...) throws {
        let r = try runCommand("/usr/sbin/postconf", ["-c", etc, "-e"] + assignments, timeout: 30)
        guard r.status == 0 else { throw HarnessError("postconf -e \(assignments): \(r.output)") }
    }

    /// Removes master.cf entries (with their continuation lines) by service/type.
    public func removeServices(_ services: [String]) throws {
        let r = try runCommand("/usr/sbin/postconf", ["-c", etc, "-MX"] + services, timeout: 30)
        guard r.status == 0 else { throw HarnessError("postconf -MX \(services): \(r.output)") }
    }

    /// service/type of every master.cf entry, in file order.
    public func services() throws -> [String] {
        let r = try runCommand("/usr/sbin/postconf", ["-c", etc, "-M"], timeout: 30)
        return r.output.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            return f.count > 1 ? "\(f[0])/\(f[1])" : nil
        }
    }

    /// Queue files cleanup has finished (mode 0700); a file cleanup was
    /// killed while writing (0600) was never acknowledged to a client.
    public func completeQueueFiles(in queues: [String] = ["maildrop", "incoming", "active", "deferred", "hold"]) -> [String] {
        queuedFiles().filter { file in
            guard queues.contains(where: { file.hasPrefix($0 + "/") }) else { return false }
            var st = stat()
            return stat(queue + "/" + file, &st) == 0 && st.st_mode & 0o100 != 0
        }
    }

    /// The echo plugin built beside the master under test (libecho.so), as
    /// DIR/libexec/echo.so: `echo` in master.cf is a plugin.
    public func installEchoPlugin() throws {
        try installPlugin(builtBesideMaster("libecho.so"), as: "echo")
    }

    /// A file built beside the master under test (the plugins' build directory).
    public func builtBesideMaster(_ file: String) -> String {
        URL(fileURLWithPath: master).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent(file).path
    }

    /// Copies the plugin `built` in as DIR/libexec/<command>.so, root-owned,
    /// mode 0755 (what the host's file checks want), so that master.cf's
    /// `command` resolves to it.
    public func installPlugin(_ built: String, as command: String) throws {
        guard FileManager.default.fileExists(atPath: built) else {
            throw HarnessError("\(built) missing: build the plugins with the master under test (swift build)")
        }
        let installed = libexec + "/" + command + ".so"
        try? FileManager.default.removeItem(atPath: installed)
        try FileManager.default.copyItem(atPath: built, toPath: installed)
        chown(installed, 0, 0)
        chmod(installed, 0o755)
    }

    /// Runs `postqueue -f`: deferred mail is retried now.
    public func flushQueue() {
        _ = try? runCommand("/usr/sbin/postqueue", ["-c", etc, "-f"], env: ["MAIL_CONFIG": etc], timeout: 30)
    }
}

// MARK: - mail whose fate is tracked per message

/// One smtp-source -v per message, each with a unique Subject token: a
/// message is accepted when the reply after its final "." is 250.
public final class TrackedMail {
    public let tag: String
    private let port: Int
    private let directory: String
    private var running: [String: (process: Process, started: Date)] = [:]
    /// token -> "250", "4xx", "5xx" or "none" (connection lost or timed out).
    public private(set) var replies: [String: String] = [:]
    public private(set) var sent = 0
    public let timeout: TimeInterval

    public init(port: Int, tag: String, timeout: TimeInterval = 120) throws {
        self.port = port
        self.tag = tag
        self.timeout = timeout
        directory = NSTemporaryDirectory() + "tracked-\(tag)-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        for (_, entry) in running where entry.process.isRunning { kill(entry.process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    public var inFlight: Int { running.count }

    /// Starts one message to `rcpt`; returns its token.
    @discardableResult
    public func start(to rcpt: String) throws -> String {
        sent += 1
        let token = "\(tag)-\(sent)"
        let out = directory + "/" + token
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        defer { try? handle.close() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/smtp-source")
        p.arguments = ["-v", "-m", "1", "-s", "1", "-S", token, "-f", "tracked@example.com", "-t", rcpt, "127.0.0.1:\(port)"]
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try p.run()
        running[token] = (p, Date())
        return token
    }

    /// Sends one message and waits for its fate.
    @discardableResult
    public func send(to rcpt: String) throws -> String {
        let token = try start(to: rcpt)
        finish(timeout: timeout)
        return replies[token] ?? "none"
    }

    /// Collects finished submissions; kills those older than `timeout`.
    public func poll() {
        for (token, entry) in running {
            if entry.process.isRunning {
                guard Date().timeIntervalSince(entry.started) > timeout else { continue }
                kill(entry.process.processIdentifier, SIGKILL)
            }
            entry.process.waitUntilExit()
            running[token] = nil
            replies[token] = reply(token)
        }
    }

    public func finish(timeout: TimeInterval) {
        waitUntil(timeout: timeout, interval: 0.1) { poll(); return running.isEmpty }
        for (_, entry) in running where entry.process.isRunning { kill(entry.process.processIdentifier, SIGKILL) }
        poll()
    }

    public var accepted: Set<String> { Set(replies.filter { $0.value == "250" }.keys) }

    public func count(_ reply: String) -> Int { replies.values.filter { $0 == reply }.count }

    /// The reply code after the final ".", else the first 4xx/5xx class seen, else "none".
    private func reply(_ token: String) -> String {
        let text = (try? String(contentsOfFile: directory + "/" + token, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n")
        for (i, line) in lines.enumerated() where line.hasSuffix(": .") && i + 1 < lines.count {
            if let r = lines[i + 1].range(of: "<<< ") { return String(lines[i + 1][r.upperBound...].prefix(3)) }
        }
        for line in lines {
            if let r = line.range(of: "<<< "), let c = line[r.upperBound...].first, c == "4" || c == "5" { return "\(c)xx" }
        }
        return "none"
    }

    /// token -> number of copies in the given files (maildir messages, sink dumps).
    public func deliveredCopies(inDirectories directories: [String]) -> [String: Int] {
        var copies: [String: Int] = [:]
        let fm = FileManager.default
        let prefix = "Subject: \(tag)-"
        for dir in directories {
            guard let walker = fm.enumerator(atPath: dir) else { continue }
            for case let name as String in walker {
                guard let data = fm.contents(atPath: dir + "/" + name) else { continue }
                let text = String(decoding: data.prefix(65536), as: UTF8.self)
                guard let r = text.range(of: prefix) else { continue }
                let digits = text[r.upperBound...].prefix { $0.isNumber }
                copies["\(tag)-\(digits)", default: 0] += 1
            }
        }
        return copies
    }
}
