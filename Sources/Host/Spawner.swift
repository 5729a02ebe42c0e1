// Spawner.swift - fork and exec one daemon process with Postfix's descriptors.
//
// In the child: flow pipe on 3 (read) and 4 (write), the service's status
// channel on 5, listen sockets on 6 onwards, stdio as inherited, everything
// else closed. Sources are first moved above every target so that no dup2
// can clobber a descriptor still to be placed; the placement needs no spare
// descriptor, so it works with the master at its open-file limit. cs_fork()
// hands the child default signal actions with no signal lost across the
// fork. The master is single-threaded, so the child may allocate and log like
// any process (no other thread can hold a lock at fork time); the argv and
// envp C strings are built before fork only so that nothing between fork and
// execve can fail. If execve fails the child logs the stock fatal message and
// exits 1 after a second, which the master sees as a bad start.

import Glibc
import CSystem

struct ChildDescriptors {
    let flowRead: Int32
    let flowWrite: Int32
    let status: Int32
    let listeners: [Int32]
}

enum Spawner {
    static let firstListenFD: Int32 = 6

    /// Forks a plugin worker: no exec, the plugin is loaded in the child.
    static func spawnPlugin(_ spec: PluginWorkerSpec, descriptors: ChildDescriptors) -> pid_t {
        let pid = cs_fork()
        if pid != 0 { return pid }
        PluginWorker.run(spec, descriptors: descriptors)
    }

    /// Returns the child's pid, or -1 with errno set when fork fails.
    static func spawn(path: String, argv: [String], environment: [String],
                      descriptors: ChildDescriptors) -> pid_t {
        let cArgv = CStringArray(argv)
        let cEnvp = CStringArray(environment)
        defer {
            cArgv.free()
            cEnvp.free()
        }
        let pid = cs_fork()
        if pid != 0 { return pid }
        placeDescriptors(descriptors)
        execve(path, cArgv.pointer, cEnvp.pointer)
        MasterLog.fatal("master_spawn: exec \(path): \(errnoText())")
    }

    /// Child side: moves the inherited descriptors to 3, 4, 5, 6.. . Every
    /// other descriptor above 2 is closed first (all are close-on-exec) and
    /// each source once copied, so this needs no spare descriptor even when
    /// the master runs at its open-file limit; the soft limit goes up to the
    /// hard one first (as every Postfix daemon does at start-up), in case
    /// the master's was lowered below the numbers it holds.
    static func placeDescriptors(_ d: ChildDescriptors) {
        let sources = [d.flowRead, d.flowWrite, d.status] + d.listeners
        closeDescriptors(from: 3, except: sources)
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let floor = firstListenFD + Int32(d.listeners.count)
        let moved = sources.map { source -> Int32 in
            let copy = fcntl(source, F_DUPFD_CLOEXEC, floor)
            close(source)
            return copy
        }
        for (index, fd) in moved.enumerated() {
            let target = Int32(3 + index)
            if fd < 0 || dup2(fd, target) < 0 {
                MasterLog.fatal("master_spawn: dup2 descriptor \(target): \(errnoText())")
            }
        }
    }

    /// Closes every descriptor from `low` up except those in `keep`.
    private static func closeDescriptors(from low: Int32, except keep: [Int32]) {
        var next = low
        for fd in keep.sorted() where fd >= next {
            while next < fd {
                close(next)
                next += 1
            }
            next = fd + 1
        }
        cs_close_from(next)
    }
}

/// A NULL-terminated array of C strings owned by the caller until free().
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: count + 1)
        for (index, string) in strings.enumerated() {
            pointer[index] = strdup(string)
        }
        pointer[count] = nil
    }

    func free() {
        for index in 0..<count { Glibc.free(pointer[index]) }
        pointer.deallocate()
    }
}

extension Spawner {
    /// Runs `/bin/sh -c command` with the current environment.
    static func spawnShell(_ command: String) -> pid_t {
        let cArgv = CStringArray(["sh", "-c", command])
        defer { cArgv.free() }
        let pid = cs_fork()
        if pid != 0 { return pid }
        execv("/bin/sh", cArgv.pointer)
        cs_exit_now(127)
    }
}
