// Debugger.swift - `master -D` / MAIL_DEBUG: run debugger_command on ourselves.
//
// debugger_command is expanded with process_name and process_id set, then
// run through /bin/sh and waited for, as the stock master does before it
// starts any service.

import Glibc
import CSystem
import PostfixConfig

enum Debugger {
    static func run(_ settings: MasterSettings, command main: MainConfig) {
        let overrides = [("process_name", "master"), ("process_id", String(getpid()))]
        let command: String
        do {
            command = try main.with(overrides: overrides).value("debugger_command")
        } catch {
            MasterLog.fatal("\(error)")
        }
        if command.isEmpty { MasterLog.fatal("no debugger_command variable set up") }
        let pid = Spawner.spawnShell(command)
        var status: Int32 = 0
        if pid > 0 { _ = waitpid(pid, &status, 0) }
    }
}
