// Spawner.swift - fork a daemon process: exec'd, or a plugin worker without exec.
//
// The child gets Postfix's descriptor layout (ChildDescriptors, HostCommon):
// an exec'd daemon has it placed here before execve, a plugin worker places
// it itself (WorkerRuntime). cs_fork() hands the child default signal
// actions with no signal lost across the fork. The master is
// single-threaded, so the child may allocate and log like any process (no
// other thread can hold a lock at fork time); the argv and envp C strings
// are built before fork only so that nothing between fork and execve can
// fail. If execve fails the child logs the stock fatal message and exits 1
// after a second, which the master sees as a bad start.

import Glibc
import CSystem
import WorkerRuntime

extension Spawner {
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
