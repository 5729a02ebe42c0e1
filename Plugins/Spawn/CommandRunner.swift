// CommandRunner.swift - runs one external command with a connection as its
// standard input, output and error, under a given uid/gid, in its own session
// (so a time-limit kill reaches its offspring too), and waits for it within
// a time limit, then kills the whole process group with SIGKILL, sent with
// the command's own uid and gid as effective ids (the service runs with
// effective uid mail_owner, which may not signal the command: stock spawn(8)
// before Postfix 3.10 sent it so, got EPERM and never enforced the limit).
//
// Everything the child needs (argument and environment vectors) is built
// before fork(), so the child only makes system calls before execvp().
import DirectoryEntries
import Glibc

struct CommandRunner {
    let argv: [String]
    let environment: [String]
    let uid: uid_t
    let gid: gid_t
    let timeLimit: Int64

    enum Outcome: Equatable {
        case exited(Int32)
        case signaled(Int32)
        /// The limit passed: the pid, and how the killed command ended.
        indirect case timedOut(pid_t, Outcome)
    }

    /// Forks, runs the command on `fd`, waits. Throws when fork fails.
    /// `timedOut` is told the pid when the limit passes, before the kill.
    func run(on fd: Int32, failure: (String) -> Void, timedOut: (pid_t) -> Void = { _ in }) throws -> Outcome {
        let args = CStringVector(argv)
        let env = CStringVector(environment)
        defer { args.free(); env.free() }
        let inherited = Self.openDescriptors()
        let pid = fork()
        if pid < 0 { throw SpawnError("fork: error \(errno)") }
        if pid == 0 { child(fd: fd, args: args, env: env, inherited: inherited, failure: failure) }
        return wait(pid, timedOut: timedOut)
    }

    /// In the child: identity, session, plumbing, environment, exec.
    private func child(fd: Int32, args: CStringVector, env: CStringVector, inherited: [Int32]?,
                       failure: (String) -> Void) -> Never {
        // The service process may run with effective uid mail_owner; the
        // saved uid is root, which gives the rights back for the switch.
        if getuid() == 0 { _ = seteuid(0) }
        var groups = [gid]
        if setgid(gid) < 0 || setgroups(1, &groups) < 0 || setuid(uid) < 0 {
            failure("set privileges to uid \(uid) gid \(gid): error \(errno)")
            _exit(1)
        }
        _ = setsid()
        if dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 {
            failure("dup2: error \(errno)")
            _exit(1)
        }
        // ServiceHost descriptors (status pipe, listeners) are none of the command's business.
        if let inherited {
            for open in inherited where open >= 3 { close(open) }
        } else {
            closeFrom(3)
        }
        _ = clearenv()
        for entry in env.pointers.dropLast() { if let entry { _ = putenv(entry) } }
        if let program = args.pointers.first ?? nil { execvp(program, args.pointers) }
        failure("execvp \(argv.first ?? ""): error \(errno)")
        _exit(1)
    }

    /// Waits for `pid`, at most `timeLimit` seconds; polls with a growing
    /// interval (1 ms to 100 ms) rather than using signals, which the host owns.
    private func wait(_ pid: pid_t, timedOut: (pid_t) -> Void) -> Outcome {
        var status: Int32 = 0
        var waitedMicros: Int64 = 0
        var step: Int64 = 1000
        let limitMicros = timeLimit * 1_000_000
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return Self.outcome(status) }
            if done < 0 && errno != EINTR { return .exited(0) }
            if waitedMicros >= limitMicros {
                timedOut(pid)
                killGroup(pid)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .timedOut(pid, Self.outcome(status))
            }
            usleep(useconds_t(step))
            waitedMicros += step
            step = min(step * 2, 100_000)
        }
    }

    /// SIGKILL to the command's process group (its session), as the
    /// command's user when the saved uid allows the switch, then back.
    private func killGroup(_ pid: pid_t) {
        let savedUID = geteuid(), savedGID = getegid()
        let root = getuid() == 0
        if root { _ = seteuid(0); _ = setegid(gid); _ = seteuid(uid) }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        if root { _ = seteuid(0); _ = setegid(savedGID); _ = seteuid(savedUID) }
    }

    static func outcome(_ status: Int32) -> Outcome {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// The descriptors open now, from /proc/self/fd (read before fork(), so
    /// the child closes a handful instead of trying every number up to
    /// RLIMIT_NOFILE); nil when /proc is not there (a chroot).
    static func openDescriptors() -> [Int32]? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var found: [Int32] = []
        while let entry = readdir(dir), found.count < 65536 {
            let name = DirectoryEntry.name(entry)
            if let fd = Int32(name) { found.append(fd) }
        }
        return found
    }

    private func closeFrom(_ first: Int32) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let top = Int32(clamping: min(limit.rlim_cur, 65536))
        var fd = first
        while fd < top { close(fd); fd += 1 }
    }
}

/// A NULL-terminated vector of C strings, allocated before fork().
struct CStringVector {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func free() { for p in pointers { Glibc.free(p) } }
}

struct SpawnError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
