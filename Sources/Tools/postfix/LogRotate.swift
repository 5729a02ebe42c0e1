// LogRotate: `postfix logrotate`, natively, as postfix-script does it.
// Guarantees: no arguments allowed; maillog_file, maillog_file_compressor and
// maillog_file_rotate_suffix must be non-empty (raw main.cf values, as
// `postconf -h` shows them); a /dev/* maillog_file is not rotated; the file
// is renamed to "<file>.<strftime(suffix)>", a running master is sent SIGHUP
// (postlogd reopens), then after one second the compressor (looked up in
// /bin:/usr/bin:/sbin:/usr/sbin) is run on the renamed file. Any failure is
// one fatal "logfile '<file>' rotation failed: <what the step said>", status 1.

#if canImport(Glibc)
import ChildProcesses
import Glibc
#endif
import ToolSupport

struct LogRotate {
    let settings: InstanceSettings
    let master: MasterControl
    let env: [String]
    let log: ToolLog

    func run(_ args: [String]) -> Int32 {
        guard args.isEmpty else { return fail("usage postfix logrotate (no arguments)") }
        var values: [String] = []
        for name in ["maillog_file", "maillog_file_compressor", "maillog_file_rotate_suffix"] {
            let value = settings.main.rawValue(name) ?? ((try? settings.value(name)) ?? "")
            if value.isEmpty { return fail("empty '\(name)' parameter value - logfile rotation failed") }
            values.append(value)
        }
        let (file, compressor, suffixFormat) = (values[0], values[1], values[2])
        if file.hasPrefix("/dev/") { return fail("not rotating '\(file)'") }
        if let problem = rotate(file, compressor: compressor, suffixFormat: suffixFormat) {
            return fail("logfile '\(file)' rotation failed: \(problem)")
        }
        return 0
    }

    func fail(_ text: String) -> Int32 {
        log.fatal(text)
        return 1
    }

    /// nil on success, else the complaint of the step that failed.
    func rotate(_ file: String, compressor: String, suffixFormat: String) -> String? {
        let rotated = file + "." + Self.formatNow(suffixFormat)
        guard rename(file, rotated) == 0 else {
            let reason = String(cString: strerror(errno))
            return errno == ENOENT ? "mv: cannot stat '\(file)': \(reason)"
                                   : "mv: cannot move '\(file)' to '\(rotated)': \(reason)"
        }
        if master.isRunning() && !master.signal(SIGHUP) {
            return "kill: (\(master.pid().map(String.init) ?? "")) - \(String(cString: strerror(errno)))"
        }
        sleep(1)
        let program = Self.locate(compressor)
        do {
            let (status, errors) = try ChildProcess.runCapturingStderr([program, rotated], env: env)
            if status != 0 { return errors.isEmpty ? "\(compressor) exited with status \(status)" : errors }
        } catch {
            return "\(compressor): not found"
        }
        return nil
    }

    /// The script's PATH lookup for a bare command name.
    static func locate(_ name: String) -> String {
        if name.contains("/") { return name }
        for dir in ["/bin", "/usr/bin", "/sbin", "/usr/sbin"] where access(dir + "/" + name, X_OK) == 0 {
            return dir + "/" + name
        }
        return name
    }

    /// `date +FORMAT`: strftime in local time.
    static func formatNow(_ format: String) -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 1024)
        let count = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
