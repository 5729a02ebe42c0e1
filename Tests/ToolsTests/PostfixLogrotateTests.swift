// `postfix logrotate` compared with stock on make-instance instances (which
// log to DIR/log/maillog): refusals (arguments, empty parameters, /dev/*
// files, a missing log file) word for word; a rotation with the master
// stopped leaves the same files (maillog.<suffix>.gz holding the old text);
// with a running master, the master survives and postlogd reopens the log
// (the next record lands in a new maillog). Masters are stopped by pid.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PostfixLogrotateTests: XCTestCase {
    var instance = ""

    override func setUpWithError() throws {
        guard try Tools.require([Tools.stockPostfix, Tools.postfix, "/usr/bin/script", "/bin/gzip"], root: true) else {
            throw ToolError("requirements missing")
        }
        instance = try scratchDir("pfrot")
        let made = try runTool(Tools.packageRoot + "/contrib/make-instance", [instance], timeout: 120)
        guard made.status == 0 else { throw ToolError("make-instance failed: \(made.stderr)") }
    }

    override func tearDownWithError() throws {
        if let text = try? String(contentsOfFile: instance + "/queue/pid/master.pid", encoding: .utf8),
           let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 {
            kill(pid, SIGTERM); usleep(500_000); kill(-pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: instance)
    }

    func onTerminal(_ tool: String, _ words: String) throws -> (Int32, String) {
        let r = try runTool("/usr/bin/script", ["-qec", "\(tool) -c \(instance)/etc \(words)", "/dev/null"], timeout: 60)
        // A maillog_file of /dev/stdout puts records on the terminal: mask their stamp and pid.
        return (r.status, r.stdout.replacingOccurrences(of: "\r", with: "").replacingOccurrences(
            of: #"(?m)^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} (\S+) (\S+)\[[0-9]+\]"#, with: "STAMP $1 $2[PID]", options: .regularExpression))
    }

    func postconf(_ args: [String]) throws {
        XCTAssertEqual(try runTool(Tools.stockPostconf, ["-c", instance + "/etc"] + args).status, 0)
    }

    func compare(_ words: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try onTerminal(Tools.stockPostfix, words), o = try onTerminal(Tools.postfix, words)
        XCTAssertEqual(o.0, s.0, "exit status of postfix \(words)", file: file, line: line)
        XCTAssertEqual(o.1, s.1, "output of postfix \(words)", file: file, line: line)
    }

    func testRefusalsMatchStock() throws {
        try compare("logrotate extra")
        try postconf(["-e", "maillog_file_compressor ="])
        try compare("logrotate")
        try postconf(["-e", "maillog_file_compressor = gzip", "maillog_file_rotate_suffix ="])
        try compare("logrotate")
        try postconf(["-#", "maillog_file_rotate_suffix"])
        let log = instance + "/log/maillog"
        unlink(log)
        let s = try onTerminal(Tools.stockPostfix, "logrotate")
        unlink(log)   // stock's own fatal record recreated it
        let o = try onTerminal(Tools.postfix, "logrotate")
        XCTAssertEqual(o.0, s.0)
        XCTAssertEqual(o.1, s.1)
        XCTAssertTrue(o.1.contains("rotation failed: mv: cannot stat"), o.1)
        try postconf(["-e", "maillog_file = /dev/stdout"])
        try compare("logrotate")
        try postconf(["-e", "maillog_file_prefixes = \(instance)/log, /dev/stdout"])
        try compare("logrotate")
        try postconf(["-e", "maillog_file_prefixes ="])
        try compare("status")
    }

    func testRotationLeavesSameFilesAsStock() throws {
        let log = instance + "/log/maillog", dir = instance + "/log"
        try postconf(["-e", "maillog_file_rotate_suffix = rotated"])
        var results: [String: [String]] = [:]
        for (who, tool) in [("stock", try Tools.stockPostfix), ("ours", Tools.postfix)] {
            try writeFile(log, "line one \(who)\nline two\n")
            let r = try onTerminal(tool, "logrotate")
            XCTAssertEqual(r.0, 0, "\(who): \(r.1)")
            XCTAssertEqual(r.1, "", who)
            results[who] = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            let unzip = try runTool("/bin/gzip", ["-dc", log + ".rotated.gz"])
            XCTAssertEqual(unzip.stdout, "line one \(who)\nline two\n", who)
            let attrs = try FileManager.default.attributesOfItem(atPath: log + ".rotated.gz")
            XCTAssertEqual(attrs[.posixPermissions] as? Int, 0o644, who)
            try FileManager.default.removeItem(atPath: log + ".rotated.gz")
        }
        XCTAssertEqual(results["ours"], results["stock"])
        XCTAssertEqual(results["ours"], ["maillog.rotated.gz"])
    }

    func testRunningMasterReopensAfterRotation() throws {
        let log = instance + "/log/maillog"
        XCTAssertEqual(try onTerminal(Tools.stockPostfix, "start").0, 0)
        XCTAssertTrue(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: log) }, "no maillog")
        let pid = try String(contentsOfFile: instance + "/queue/pid/master.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try postconf(["-e", "maillog_file_rotate_suffix = %Y"])
        let r = try onTerminal(Tools.postfix, "logrotate")
        XCTAssertEqual(r.0, 0, r.1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: log + "." + yearNow() + ".gz"))
        XCTAssertEqual(try onTerminal(Tools.postfix, "status").0, 0, "master survives the HUP")
        // The reload is a signal: until postlogd has reopened, a status line
        // may still go to the rotated file, so ask again while waiting.
        let reopened = waitUntil(timeout: 30, interval: 0.5) {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("the Postfix mail system is running: PID: \(pid)") {
                return true
            }
            _ = try? self.onTerminal(Tools.postfix, "status")
            return false
        }
        XCTAssertTrue(reopened, "postlogd writes the new maillog after the HUP")
    }

    func yearNow() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy"
        return f.string(from: Date())
    }
}
