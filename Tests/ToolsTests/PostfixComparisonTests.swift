// Compares our postfix(1) with stock /usr/sbin/postfix on private instances
// made by contrib/make-instance (stock master): what each command prints on a
// terminal (run under script(1)), its exit status, and the master state it
// leaves. Every master started here is stopped by pid in teardown.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PostfixComparisonTests: XCTestCase {
    var instance = ""

    override func setUpWithError() throws {
        guard try Tools.require([Tools.stockPostfix, Tools.postfix, "/usr/bin/script"], root: true) else {
            throw ToolError("requirements missing")
        }
        instance = try scratchDir("pf")
        let made = try runTool(Tools.packageRoot + "/contrib/make-instance", [instance], timeout: 120)
        guard made.status == 0 else { throw ToolError("make-instance failed: \(made.stderr)") }
    }

    override func tearDownWithError() throws {
        if let pid = masterPid() { kill(pid, SIGTERM); usleep(500_000); kill(-pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: instance)
    }

    func masterPid() -> pid_t? {
        guard let text = try? String(contentsOfFile: instance + "/queue/pid/master.pid", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// Runs `tool -c DIR words` on a pseudo-terminal; output with CRs removed and the pid masked.
    func onTerminal(_ tool: String, _ words: String) throws -> (Int32, String) {
        let r = try runTool("/usr/bin/script", ["-qec", "\(tool) -c \(instance)/etc \(words)", "/dev/null"], timeout: 60)
        var text = r.stdout.replacingOccurrences(of: "\r", with: "")
        if let range = text.range(of: #"PID: [0-9]+"#, options: .regularExpression) { text.replaceSubrange(range, with: "PID: N") }
        return (r.status, text)
    }

    func compare(_ words: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try onTerminal(Tools.stockPostfix, words)
        let o = try onTerminal(Tools.postfix, words)
        XCTAssertEqual(o.0, s.0, "exit status of postfix \(words)", file: file, line: line)
        // Beyond stock, `check` adds one "service N/T: command C: executable|plugin P" line per service.
        let ours = words == "check" ? o.1.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { $0.range(of: #"^postfix/postfix-script: service \S+: command \S+: (executable|plugin) /"#, options: .regularExpression) == nil }
            .joined(separator: "\n") : o.1
        XCTAssertEqual(ours, s.1, "output of postfix \(words)", file: file, line: line)
    }

    func testStateCommandsMatchStockWhenStopped() throws {
        for words in ["status", "stop", "abort", "drain", "reload", "frobnicate", "", "start_msg", "stop_msg", "check"] {
            try compare(words)
            XCTAssertNil(masterPid(), "postfix \(words) must not start a master")
        }
    }

    func testLifecycleMatchesStock() throws {
        // start with ours, check the stock view, then stock's messages against ours.
        let started = try onTerminal(Tools.postfix, "start")
        XCTAssertEqual(started.0, 0, started.1)
        XCTAssertTrue(started.1.hasSuffix("postfix/postfix-script: starting the Postfix mail system\n"), started.1)
        XCTAssertNotNil(masterPid())
        try compare("status")
        try compare("start")          // already running
        try compare("reload")
        let stopped = try onTerminal(Tools.postfix, "stop")
        XCTAssertEqual(stopped.0, 0)
        // A master slower than 1 s to go adds stock's "waiting ..." line; that is timing, not wording.
        XCTAssertEqual(stopped.1.split(separator: "\n").filter { !$0.hasSuffix("waiting for the Postfix mail system to terminate") },
                       ["postfix/postfix-script: stopping the Postfix mail system"])
        XCTAssertTrue(waitUntil(timeout: 30) { self.masterPid() == nil })
        XCTAssertNil(masterPid())
        let stockStart = try onTerminal(Tools.stockPostfix, "start")
        XCTAssertEqual(stockStart.1, started.1, "same words for start")
        try compare("status")
        let abort = try onTerminal(Tools.postfix, "abort")
        XCTAssertEqual(abort.0, 0)
        XCTAssertEqual(abort.1, "postfix/postfix-script: aborting the Postfix mail system\n")
        for _ in 0..<50 where masterPid() != nil { usleep(100_000) }
        XCTAssertNil(masterPid())
    }

    func testOptionErrorsMatchStock() throws {
        for args in [["-c", "relative", "status"], ["-x", "status"], ["-c", "/nonexistent-dir", "status"]] {
            let s = try runTool(Tools.stockPostfix, args)
            let o = try runTool(Tools.postfix, args)
            XCTAssertEqual(o.status, s.status, "\(args)")
            XCTAssertEqual(withoutProgram(o.stderr), withoutProgram(s.stderr), "\(args)")
        }
    }

    /// smtputf8_enable decides how postfix(1) makes its records printable,
    /// so, as in stock, a value that is not a boolean stops every command.
    func testSmtputf8EnableThatIsNotABooleanIsFatalLikeStock() throws {
        let path = instance + "/etc/main.cf"
        let main = try XCTUnwrap(readFile(path).map { String(decoding: $0, as: UTF8.self) })
        try writeFile(path, main + "\nsmtputf8_enable = maybe\n")
        for words in ["status", "start"] {
            try compare(words)
            XCTAssertNil(masterPid(), "postfix \(words) must not start a master")
        }
        let ours = try onTerminal(Tools.postfix, "status")
        XCTAssertEqual(ours.1, "postfix: fatal: bad boolean configuration: smtputf8_enable = maybe\n")
    }

    func testCheckCreatesMissingQueueDirectoriesLikeStock() throws {
        let queue = instance + "/queue"
        for sub in ["hold", "trace", "public"] { try FileManager.default.removeItem(atPath: queue + "/" + sub) }
        let o = try onTerminal(Tools.postfix, "check")
        XCTAssertEqual(o.0, 0, o.1)
        for sub in ["hold": 0o700, "trace": 0o700, "public": 0o710] as [String: Int] {
            let attrs = try FileManager.default.attributesOfItem(atPath: queue + "/" + sub.key)
            XCTAssertEqual((attrs[.posixPermissions] as? Int), sub.value, sub.key)
            XCTAssertEqual(attrs[.ownerAccountName] as? String, "postfix", sub.key)
        }
        let attrs = try FileManager.default.attributesOfItem(atPath: queue + "/public")
        XCTAssertEqual(attrs[.groupOwnerAccountName] as? String, "postdrop")
    }
}
