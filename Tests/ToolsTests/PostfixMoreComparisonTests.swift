// Compares our postfix(1) with stock /usr/sbin/postfix for the commands and
// options PostfixComparisonTests leaves out: flush (with a running master and
// with none), start-fg (master in the foreground, ended by SIGTERM to its
// pid), -v, -D (debugger_command run by the master), and set-permissions /
// upgrade-configuration (post-install; run only inside a private mount
// namespace, Namespace.preamble plus an overlay over /usr, because they also
// touch shared files such as /usr/sbin/postdrop). Same pattern as
// PostfixComparisonTests: contrib/make-instance instances with the stock
// master, script(1) for the words a terminal shows, exit status and files
// left. Every master started here is stopped by pid; every wait is bounded.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PostfixMoreComparisonTests: XCTestCase {
    var instance = ""

    override func setUpWithError() throws {
        guard try Tools.require([Tools.stockPostfix, Tools.postfix, "/usr/bin/script", "/usr/lib/postfix/sbin/master"], root: true) else {
            throw ToolError("requirements missing")
        }
        instance = try scratchDir("pfmore")
        let made = try runTool(Tools.packageRoot + "/contrib/make-instance", [instance], timeout: 120)
        guard made.status == 0 else { throw ToolError("make-instance failed: \(made.stderr)") }
    }

    override func tearDownWithError() throws {
        stopMaster()
        try? FileManager.default.removeItem(atPath: instance)
    }

    func masterPid() -> pid_t? {
        guard let text = try? String(contentsOfFile: instance + "/queue/pid/master.pid", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// SIGTERM to the master's pid, at most 5 s for it to go, then SIGKILL to its group.
    func stopMaster() {
        guard let pid = masterPid() else { return }
        kill(pid, SIGTERM)
        for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
        if kill(pid, 0) == 0 { kill(-pid, SIGKILL) }
        for _ in 0..<20 where masterPid() != nil { usleep(100_000) }
    }

    /// Waits (at most `seconds`) until a live master has written its pid file.
    func waitForMaster(_ seconds: Double = 10) -> pid_t? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let pid = masterPid() { return pid }
            usleep(100_000)
        }
        return nil
    }

    /// Runs `tool -c DIR words` on a pseudo-terminal; output with CRs removed and the pid masked.
    func onTerminal(_ tool: String, _ words: String) throws -> (Int32, String) {
        let r = try runTool("/usr/bin/script", ["-qec", "\(tool) -c \(instance)/etc \(words)", "/dev/null"], timeout: 60)
        return (r.status, masked(r.stdout))
    }

    func masked(_ text: String) -> String {
        var text = text.replacingOccurrences(of: "\r", with: "")
        if let range = text.range(of: #"PID: [0-9]+"#, options: .regularExpression) { text.replaceSubrange(range, with: "PID: N") }
        return text
    }

    /// Output lines without ours-only `check` service lines and without the
    /// "postfix: " lines that stock's -v makes its libraries print (name_mask,
    /// inet_addr_local); those are returned separately.
    func split(_ text: String) -> (main: String, verbose: [String]) {
        var main: [Substring] = [], verbose: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.range(of: #"^postfix/postfix-script: service \S+: command \S+: (executable|plugin) /"#, options: .regularExpression) != nil { continue }
            if line.hasPrefix("postfix: ") { verbose.append(String(line)); continue }
            main.append(line)
        }
        return (main.joined(separator: "\n"), verbose)
    }

    func compare(_ words: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let s = try onTerminal(Tools.stockPostfix, words)
        let o = try onTerminal(Tools.postfix, words)
        XCTAssertEqual(o.0, s.0, "exit status of postfix \(words)", file: file, line: line)
        XCTAssertEqual(split(o.1).main, split(s.1).main, "output of postfix \(words)", file: file, line: line)
    }

    // MARK: flush

    func testFlushMatchesStockWithAndWithoutMaster() throws {
        let s = try onTerminal(Tools.stockPostfix, "flush")
        let o = try onTerminal(Tools.postfix, "flush")
        XCTAssertEqual(s.0, 69, "stock: postqueue -f fails with EX_UNAVAILABLE when the mail system is down: \(s.1)")
        XCTAssertTrue(s.1.hasSuffix("postqueue: fatal: Cannot flush mail queue - mail system is down\n"), s.1)
        XCTAssertEqual(o.0, s.0, "exit status of flush without a master")
        XCTAssertEqual(o.1, s.1, "output of flush without a master")
        XCTAssertNil(masterPid(), "flush must not start a master")

        let started = try runTool(Tools.stockPostfix, ["-c", instance + "/etc", "start"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let pid = try XCTUnwrap(waitForMaster(), "stock master started")
        let s2 = try onTerminal(Tools.stockPostfix, "flush")
        let o2 = try onTerminal(Tools.postfix, "flush")
        XCTAssertEqual(s2.0, 0, s2.1)
        XCTAssertEqual(o2.0, s2.0, "exit status of flush with a master")
        XCTAssertEqual(o2.1, s2.1, "output of flush with a master")
        XCTAssertEqual(masterPid(), pid, "flush leaves the master running")
    }

    // MARK: start-fg

    /// Runs `tool -c DIR start-fg` under script(1) in the background, waits for
    /// the master, SIGTERMs it by pid, and returns (exit status, output, master exe).
    func startForeground(_ tool: String) throws -> (Int32, String, String) {
        let outPath = instance + "/fg-\(UInt32.random(in: 0...UInt32.max)).out"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let out = try XCTUnwrap(FileHandle(forWritingAtPath: outPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", "\(tool) -c \(instance)/etc start-fg", "/dev/null"]
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            try? out.close()
        }
        guard let pid = waitForMaster() else {
            throw ToolError("\(tool) start-fg: no master within 10 s: \((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")")
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "?"
        XCTAssertTrue(p.isRunning, "\(tool) start-fg stays in the foreground while the master runs")
        usleep(500_000)
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(p.isRunning, "\(tool) start-fg returns once the master is gone")
        if p.isRunning { kill(-pid, SIGKILL); throw ToolError("\(tool) start-fg did not return") }
        p.waitUntilExit()
        for _ in 0..<50 where masterPid() != nil { usleep(100_000) }
        XCTAssertNil(masterPid(), "master gone after SIGTERM")
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        return (p.terminationStatus, masked(text), exe)
    }

    func testStartForegroundMatchesStock() throws {
        let s = try startForeground(Tools.stockPostfix)
        let o = try startForeground(Tools.postfix)
        XCTAssertEqual(s.2, instance + "/libexec/master", "the instance's daemon_directory decides the master")
        XCTAssertEqual(readFile(instance + "/libexec/master"), readFile("/usr/lib/postfix/sbin/master"), "the stock master")
        XCTAssertEqual(o.2, s.2, "same master")
        XCTAssertEqual(s.0, 128 + SIGTERM, "stock: the foreground master's signal death is the exit status")
        XCTAssertTrue(s.1.hasSuffix("postfix/postfix-script: starting the Postfix mail system\nTerminated\n"), s.1)
        XCTAssertEqual(o.0, s.0, "exit status of start-fg")
        XCTAssertEqual(o.1, s.1, "output of start-fg")

        // start-fg while a master runs: refused, same words.
        let started = try runTool(Tools.stockPostfix, ["-c", instance + "/etc", "start"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let pid = try XCTUnwrap(waitForMaster())
        try compare("start-fg")
        XCTAssertEqual(masterPid(), pid, "the running master is left alone")
    }

    // MARK: -v

    func testVerboseOptionMatchesStock() throws {
        for words in ["-v status", "-vv status", "-v check", "-v frobnicate"] {
            try compare(words)
            XCTAssertNil(masterPid(), "postfix \(words) must not start a master")
        }
        // Stock's -v also makes its libraries report on stderr (a terminal) while
        // reading main.cf; ours does not print those (see split()).
        let s = try onTerminal(Tools.stockPostfix, "-v status")
        XCTAssertTrue(split(s.1).verbose.contains { $0.hasPrefix("postfix: name_mask: ") }, s.1)

        let started = try runTool(Tools.stockPostfix, ["-c", instance + "/etc", "start"])
        XCTAssertEqual(started.status, 0, started.stderr)
        XCTAssertNotNil(waitForMaster())
        try compare("-v status")
        let running = try onTerminal(Tools.postfix, "-v status")
        XCTAssertEqual(running.0, 0)
        XCTAssertEqual(running.1, "postfix/postfix-script: the Postfix mail system is running: PID: N\n")
    }

    // MARK: -D

    func environmentOf(_ tool: String, _ options: [String]) throws -> [String] {
        let r = try runTool(tool, ["-c", instance + "/etc"] + options + ["/usr/bin/env"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("MAIL_") }.sorted()
    }

    func testDebugOptionMatchesStock() throws {
        // The environment a command gets: -D adds MAIL_DEBUG, -v adds nothing.
        for options in [[], ["-D"], ["-v"], ["-D", "-v"]] {
            let s = try environmentOf(Tools.stockPostfix, options)
            XCTAssertEqual(s.contains("MAIL_DEBUG="), options.contains("-D"), "stock \(options): \(s)")
            XCTAssertEqual(try environmentOf(Tools.postfix, options), s, "MAIL_ environment with \(options)")
        }

        // No debugger_command: -D status is harmless and the same.
        try compare("-D status")

        // A debugger_command that records which process ran it.
        let marks = instance + "/debug"
        try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
        let set = try runTool(Tools.stockPostconf,
                              ["-c", instance + "/etc", "debugger_command = touch \(marks)/$process_name.$process_id"])
        XCTAssertEqual(set.status, 0, set.stderr)

        func debugStart(_ tool: String) throws -> (Int32, String, Set<String>) {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: marks)) ?? [] {
                try FileManager.default.removeItem(atPath: marks + "/" + f)
            }
            let r = try onTerminal(tool, "-D start")
            let pid = try XCTUnwrap(waitForMaster(), "\(tool) -D start: \(r.1)")
            let mark = "master.\(pid)"
            for _ in 0..<50 where !FileManager.default.fileExists(atPath: marks + "/" + mark) { usleep(100_000) }
            let names = Set(((try? FileManager.default.contentsOfDirectory(atPath: marks)) ?? [])
                .map { String($0.split(separator: ".").first ?? "") })
            XCTAssertTrue(FileManager.default.fileExists(atPath: marks + "/" + mark),
                          "\(tool) -D start: the master ran debugger_command for itself: \(names)")
            stopMaster()
            XCTAssertNil(masterPid())
            return (r.0, r.1, names)
        }
        let s = try debugStart(Tools.stockPostfix)
        let o = try debugStart(Tools.postfix)
        XCTAssertEqual(s.0, 0, s.1)
        XCTAssertTrue(s.1.hasSuffix("postfix/postfix-script: starting the Postfix mail system\n"), s.1)
        XCTAssertEqual(o.0, s.0, "exit status of -D start")
        XCTAssertEqual(o.1, s.1, "output of -D start")
        XCTAssertFalse(s.2.contains("postfix"), "stock postfix(1) does not run the debugger itself: \(s.2)")
        XCTAssertFalse(o.2.contains("postfix"), "our postfix(1) does not run the debugger itself: \(o.2)")
        XCTAssertTrue(o.2.contains("master") && s.2.contains("master"))
    }

    // MARK: set-permissions, upgrade-configuration (private namespace only)

    static let postInstallDriver = Namespace.preamble + #"""

    # Also overlay /usr: post-install sets owners and modes of command,
    # daemon (through the instance's symlinks) and manual page files.
    mkdir -p $base/ov/usr-up $base/ov/usr-work
    mount -t overlay overlay -o lowerdir=/usr,upperdir=$base/ov/usr-up,workdir=$base/ov/usr-work /usr || exit 94
    inst=$1 ours=$2 out=$3
    cp -a "$inst" $base/template || exit 81
    # Damage for the commands to repair: owners and modes, a missing service.
    chmod 755 $base/template/queue/maildrop $base/template/queue/public
    chown root:root $base/template/queue/maildrop $base/template/queue/hold
    sed -i '/^postlog[[:space:]]/d' $base/template/etc/master.cf
    state() { # owners and modes under the instance and of the shared files
        (cd "$inst" && find . -printf '%p %M %u %g %s\n' | grep -v '^\./log/' | sort)
        for f in /usr/sbin/postdrop /usr/sbin/postqueue /usr/sbin/postfix /usr/lib/postfix/sbin/master \
                 /usr/lib/postfix/sbin/smtpd /etc/postfix /etc/postfix/postfix-files; do
            stat -c '%n %A %U %G' "$f"
        done
    }
    for cmd in set-permissions upgrade-configuration; do
        for who in stock ours; do
            rm -rf "$inst" && cp -a $base/template "$inst" || exit 82
            chown root:root /usr/sbin/postdrop && chmod 755 /usr/sbin/postdrop || exit 83
            tool=/usr/sbin/postfix
            [ $who = ours ] && tool=$ours
            script -qec "$tool -c $inst/etc $cmd" /dev/null > $out/$cmd.$who.out 2>&1
            echo $? > $out/$cmd.$who.rc
            state > $out/$cmd.$who.state
            cp "$inst/etc/main.cf" $out/$cmd.$who.main.cf
            cp "$inst/etc/master.cf" $out/$cmd.$who.master.cf
        done
    done
    umount /usr
    namespace_cleanup
    exit 0
    """#

    func testSetPermissionsAndUpgradeConfigurationMatchStockInNamespace() throws {
        guard Tools.require(["/usr/bin/unshare"], root: true) else { return }
        let out = try scratchDir("pfmore-out")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let shared = ["/usr/sbin/postdrop", "/usr/sbin/postqueue", "/usr/lib/postfix/sbin/master", "/etc/postfix",
                      "/etc/postfix/main.cf", "/var/spool/postfix", "/var/lib/postfix"]
        func realState() throws -> String {
            try runTool("/usr/bin/stat", ["-c", "%n %a %U %G %Z %Y"] + shared).stdout
        }
        let before = try realState()
        try writeFile(out + "/driver.sh", Self.postInstallDriver)
        let r = try runTool("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/bash", out + "/driver.sh",
                                                 instance, Tools.postfix, out], timeout: 300)
        XCTAssertEqual(r.status, 0, "driver: \(r.stdout) \(r.stderr)")
        XCTAssertEqual(try realState(), before, "the machine's own Postfix files are untouched")

        func text(_ name: String) -> String { (try? String(contentsOfFile: out + "/" + name, encoding: .utf8)) ?? "<missing \(name)>" }
        for cmd in ["set-permissions", "upgrade-configuration"] {
            XCTAssertEqual(text("\(cmd).stock.rc"), "0\n", "stock \(cmd): \(text("\(cmd).stock.out"))")
            XCTAssertEqual(text("\(cmd).ours.rc"), text("\(cmd).stock.rc"), "exit status of \(cmd)")
            XCTAssertEqual(text("\(cmd).ours.out"), text("\(cmd).stock.out"), "output of \(cmd)")
            XCTAssertEqual(text("\(cmd).ours.state"), text("\(cmd).stock.state"), "owners and modes after \(cmd)")
        }
        let repaired = text("set-permissions.stock.state")
        for line in ["./queue/maildrop drwx-wx--- postfix postdrop", "./queue/public drwx--x--- postfix postdrop",
                     "./queue/hold drwx------ postfix root", "/usr/sbin/postdrop -rwxr-sr-x root postdrop"] {
            XCTAssertTrue(repaired.contains(line), "stock set-permissions repairs \(line): \(repaired)")
        }
        XCTAssertTrue(text("upgrade-configuration.stock.master.cf").contains("\npostlog "), "stock adds the postlog service")
        for cmd in ["set-permissions", "upgrade-configuration"] {
            XCTAssertTrue(equalUpToAppendedOrder(text("\(cmd).ours.main.cf"), text("\(cmd).stock.main.cf")), "main.cf after \(cmd)")
            XCTAssertEqual(text("\(cmd).ours.master.cf"), text("\(cmd).stock.master.cf"), "master.cf after \(cmd)")
        }
    }
}
