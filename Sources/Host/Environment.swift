// Environment.swift - the environment the master passes to its children.
//
// As the stock master: MAIL_LOGTAG is exported, then the whole environment is
// replaced by the import_environment list (names kept when present,
// name=value entries forced), then POSTLOG_SERVICE/POSTLOG_HOSTNAME are set
// when maillog_file is in use and removed otherwise. Children additionally
// get GENERATION at spawn time.
// Beyond stock: systemd's NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are
// removed even when import_environment names them. They are the master's
// (read once at start-up, see SystemdNotify); no stock daemon reads them,
// and a child program that did (a pipe(8) command, a plugin using
// libsystemd) could tell systemd the service was ready, reloading or
// stopping when it is not (with NotifyAccess=all), or be refused.

import Glibc
import CSystem

enum MasterEnvironment {
    static func apply(_ settings: MasterSettings) {
        setenv("MAIL_LOGTAG", settings.syslogName, 1)
        let kept = keptVariables(settings.importEnvironment)
        clearenv()
        for (name, value) in kept { setenv(name, value, 1) }
        if settings.maillogFile.isEmpty {
            unsetenv("POSTLOG_SERVICE")
            unsetenv("POSTLOG_HOSTNAME")
        } else {
            setenv("POSTLOG_SERVICE", settings.postlogSocketPath, 1)
            setenv("POSTLOG_HOSTNAME", settings.myHostname, 1)
        }
        SystemdEnvironment.variables.forEach { unsetenv($0) }
    }

    /// The current environment as NAME=value strings.
    static func current() -> [String] {
        var result: [String] = []
        guard let environ = cs_environ() else { return result }
        var index = 0
        while let entry = environ[index] {
            result.append(String(cString: entry))
            index += 1
        }
        return result
    }

    private static func keptVariables(_ list: [String]) -> [(String, String)] {
        var kept: [(String, String)] = []
        for item in list {
            if let equals = item.firstIndex(of: "=") {
                kept.append((String(item[..<equals]), String(item[item.index(after: equals)...])))
            } else if let value = getenv(item) {
                kept.append((item, String(cString: value)))
            }
        }
        return kept
    }
}
