// `postfix status services` / `services-raw` (beyond stock) against real
// masters: OUR master (make-instance --master, MAILHOST_MASTER or the built
// one) answers on pid/master.status; the test holds an SMTP session open so
// that smtpd is really busy, and checks the counts, the program kind and path,
// pickup's wakeup, and the master line against master.pid. With the stock
// master the command says the socket is absent and exits 1. Every master
// started here is stopped by pid in teardown.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PostfixServiceStatusTests: XCTestCase {
    var instance = ""

    override func tearDownWithError() throws {
        if let pid = masterPid() { kill(pid, SIGTERM); usleep(500_000); kill(-pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: instance)
    }

    func masterPid() -> pid_t? {
        guard let text = try? String(contentsOfFile: instance + "/queue/pid/master.pid", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 else { return nil }
        return pid
    }

    func makeInstance(_ extra: [String]) throws {
        instance = try scratchDir("pfst")
        let made = try runTool(Tools.packageRoot + "/contrib/make-instance", [instance] + extra, timeout: 120)
        guard made.status == 0 else { throw ToolError("make-instance failed: \(made.stderr)") }
    }

    func postfix(_ words: [String]) throws -> RunResult {
        try runTool(Tools.postfix, ["-c", instance + "/etc"] + words, timeout: 60)
    }

    func testServiceTableFromOurMaster() throws {
        let master = ProcessInfo.processInfo.environment["MAILHOST_MASTER"] ?? Tools.productsDir + "/master"
        guard Tools.require([Tools.postfix, master], root: true) else { return }
        let port = try freeLoopbackPort()
        try makeInstance(["--master", master, "--smtp-port", "\(port)"])
        XCTAssertEqual(try postfix(["status", "services"]).status, 1, "not running yet")
        XCTAssertEqual(try postfix(["start"]).status, 0)
        let pid = try XCTUnwrap(masterPid())

        // Hold an SMTP session: one smtpd process, busy.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = loopbackAddress(port)
        XCTAssertEqual(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }, 0)
        let session = SMTPLineConnection(fd)
        defer { session.send("QUIT"); session.close() }
        XCTAssertEqual(session.reply()?.hasPrefix("220"), true, "smtpd greets")

        let raw = try postfix(["status", "services-raw"])
        XCTAssertEqual(raw.status, 0, raw.stderr)
        let lines = raw.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("master pid=\(pid) version=") == true, raw.stdout)
        XCTAssertTrue(lines.first?.contains(" config=\(instance)/etc generation=") == true, raw.stdout)
        func service(_ name: String, _ type: String) -> [String: String]? {
            for line in lines where line.hasPrefix("service name=\(name) type=\(type) ") {
                var f: [String: String] = [:]
                for w in line.split(separator: " ").dropFirst() {
                    let kv = w.split(separator: "=", maxSplits: 1).map(String.init)
                    if kv.count == 2 { f[kv[0]] = kv[1] }
                }
                return f
            }
            return nil
        }
        let smtp = try XCTUnwrap(service("127.0.0.1:\(port)", "inet") ?? service("smtp", "inet"), raw.stdout)
        XCTAssertEqual(smtp["program"], "executable")
        XCTAssertEqual(smtp["path"], instance + "/libexec/smtpd")
        XCTAssertEqual(smtp["total"], "1", raw.stdout)
        XCTAssertEqual(smtp["busy"], "1", raw.stdout)
        XCTAssertEqual(smtp["throttled"], "no")
        let pickup = try XCTUnwrap(service("pickup", "unix"), raw.stdout)
        let wakeup = try XCTUnwrap(pickup["wakeup"].flatMap { Int($0) }, "pickup has a wakeup: \(pickup)")
        XCTAssertTrue((0...60).contains(wakeup), "\(wakeup)")
        XCTAssertEqual(service("cleanup", "unix")?["wakeup"], "-")

        let table = try postfix(["status", "services"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let rows = table.stdout.split(separator: "\n").map(String.init)
        let head = lines[0].split(separator: " ").map(String.init)
        XCTAssertEqual(rows.first, "master: PID \(pid), version \(head[2].dropFirst("version=".count)), config \(instance)/etc, generation \(head[4].dropFirst("generation=".count))", table.stdout)
        XCTAssertTrue(rows.dropFirst().first?.hasPrefix("SERVICE") == true, table.stdout)
        XCTAssertEqual(rows.count, lines.count + 1, "one row per service, plus the header: \(table.stdout)")
        let pickupRow = try XCTUnwrap(rows.first { $0.hasPrefix("pickup/unix ") }, table.stdout)
        XCTAssertEqual(pickupRow.split(separator: " ").map(String.init).prefix(2), ["pickup/unix", "executable"])
        XCTAssertEqual(try postfix(["status"]).status, 0, "plain status unchanged")
    }

    func testStockMasterHasNoServiceTable() throws {
        guard try Tools.require([Tools.postfix, Tools.stockPostfix], root: true) else { return }
        try makeInstance([])
        XCTAssertEqual(try runTool(Tools.stockPostfix, ["-c", instance + "/etc", "start"]).status, 0)
        let r = try runTool("/usr/bin/script", ["-qec", "\(Tools.postfix) -c \(instance)/etc status services", "/dev/null"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout.replacingOccurrences(of: "\r", with: ""),
                       "postfix/postfix-script: warning: the running master offers no per-service status (no \(instance)/queue/pid/master.status): it is not the mailhost master\n")
    }
}
