// PluginValidator.swift - check a plugin in a short-lived child before use.
//
// At start-up and reload the master forks a child that loads the plugin,
// reads its descriptor and reports the result on a pipe as text lines, then
// exits. Whatever the plugin does while loading (crash, hang, exit) can only
// end that child: the master waits at most a few seconds and treats silence
// as a refusal. Ownership and mode are checked first, in the master, since
// they need no plugin code.

import Glibc
import CSystem

enum PluginValidator {
    static let timeoutMilliseconds: Int32 = 5000

    /// The outcome: problems that make the plugin unusable (none when it
    /// may run) and, when it loaded, its server model.
    struct Result {
        var problems: [String]
        var model: UInt32 = 0
    }

    static func validate(path: String, loadName: String) -> Result {
        let fileProblems = PluginFileCheck.problems(path: path)
        if !fileProblems.isEmpty { return Result(problems: fileProblems) }
        var fds: [Int32] = [-1, -1]
        guard cs_pipe2(&fds, O_CLOEXEC) == 0 else { return Result(problems: ["pipe: \(errnoText())"]) }
        let pid = cs_fork()
        if pid == 0 {
            close(fds[0])
            resetChildSignals()
            report(loadName, to: fds[1])
            cs_exit_now(0)
        }
        close(fds[1])
        defer { close(fds[0]) }
        if pid < 0 { return Result(problems: ["fork: \(errnoText())"]) }
        let text = readReport(fds[0], child: pid)
        return text.map(parse) ?? Result(problems: [PluginMessages.validatorDied])
    }

    // MARK: child side

    private static func report(_ loadName: String, to fd: Int32) {
        let lines: [String]
        switch PluginLoader.load(loadName) {
        case .failed(let reason):
            lines = ["refused " + reason]
        case .loaded(let descriptor):
            let info = PluginInfo(descriptor: UnsafeRawPointer(descriptor))
            let problems = info.problems()
            lines = problems.isEmpty ? ["ok \(info.model) \(info.name) \(info.version)"] : problems.map { "refused " + $0 }
        }
        let text = lines.joined(separator: "\n") + "\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    // MARK: master side

    private static func readReport(_ fd: Int32, child: pid_t) -> String? {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = EventLoop.now() + Double(timeoutMilliseconds) / 1000
        while true {
            let remaining = Int32(max(0, (deadline - EventLoop.now()) * 1000))
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, remaining) <= 0 {
                kill(child, SIGKILL)
                reapValidator(child)
                return collected.isEmpty ? "refused " + PluginMessages.validatorTimeout : String(decoding: collected, as: UTF8.self)
            }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            collected += buffer[0..<count]
        }
        reapValidator(child)
        return collected.isEmpty ? nil : String(decoding: collected, as: UTF8.self)
    }

    private static func reapValidator(_ pid: pid_t) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    private static func parse(_ text: String) -> Result {
        let lines = text.split(separator: "\n").map(String.init)
        if let first = lines.first, first.hasPrefix("ok ") {
            let model = first.split(separator: " ").dropFirst().first.flatMap { UInt32($0) } ?? 0
            return Result(problems: [], model: model)
        }
        let refusals = lines.filter { $0.hasPrefix("refused ") }.map { String($0.dropFirst("refused ".count)) }
        return Result(problems: refusals.isEmpty ? [PluginMessages.validatorDied] : refusals)
    }
}

/// Children must not run the master's handlers: a fault in plugin code
/// would otherwise terminate the master's whole process group.
func resetChildSignals() {
    for signo in [SIGHUP, SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE] {
        _ = cs_signal_default(signo)
    }
}
