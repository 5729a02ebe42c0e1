// SystemdNotifyTests.swift - our master speaking sd_notify (beyond stock), and contrib/mailhost.service.
//
// No systemd runs here, so the test plays its part at the socket level: an
// independent datagram socket with SO_PASSCRED (as systemd's notify socket)
// whose name goes into NOTIFY_SOCKET when the master under test starts on a
// private instance, in the foreground and as a session leader (what systemd
// does with the unit's ExecStart=). Each message is checked with the pid the
// kernel vouches for (NotifyAccess=main accepts only the main pid's). The
// unit is checked with Debian's systemd-analyze verify.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// One datagram: its VARIABLE=value lines and the sender's pid.
struct Notification: CustomStringConvertible {
    let fields: [String: String]
    let senderPid: pid_t
    let text: String

    var description: String { "[pid \(senderPid)] \(text.replacingOccurrences(of: "\n", with: " | "))" }
    subscript(_ name: String) -> String? { fields[name] }
}

/// systemd's side of NOTIFY_SOCKET: a path, or '@' then an abstract name.
final class NotifyReceiver {
    let socketName: String
    private let fd: Int32
    private let path: String?
    /// Every message received, in order, for assertions and failure reports.
    private(set) var received: [Notification] = []

    init(socketName: String) throws {
        self.socketName = socketName
        path = socketName.hasPrefix("@") ? nil : socketName
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket(AF_UNIX, SOCK_DGRAM): \(errno)") }
        var on: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw HarnessError("SO_PASSCRED: \(errno)")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(socketName.utf8)
        if path == nil { name[0] = 0 } else { unlink(socketName) }
        guard name.count < MemoryLayout.size(ofValue: address.sun_path) else { throw HarnessError("name too long: \(socketName)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in name.enumerated() { raw[i] = b } }
        // An abstract name is exactly its bytes: no terminating NUL counts.
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + name.count + (path == nil ? 0 : 1))
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard r == 0 else { throw HarnessError("bind \(socketName): \(String(cString: strerror(errno)))") }
    }

    deinit {
        close(fd)
        if let path { unlink(path) }
    }

    /// The next message within `timeout`, or nil.
    func next(timeout: TimeInterval) -> Notification? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var data = [UInt8](repeating: 0, count: 8192)
        var control = [UInt8](repeating: 0, count: 128)
        let count = data.withUnsafeMutableBytes { dataBytes in
            control.withUnsafeMutableBytes { controlBytes -> Int in
                var vector = iovec(iov_base: dataBytes.baseAddress, iov_len: dataBytes.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    return recvmsg(fd, &message, 0)
                }
            }
        }
        guard count >= 0 else { return nil }
        let text = String(decoding: data[0..<count], as: UTF8.self)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            fields[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
        }
        let notification = Notification(fields: fields, senderPid: Self.senderPid(control), text: text)
        received.append(notification)
        return notification
    }

    /// Reads messages until one satisfies `condition` or `timeout` passes.
    func waitFor(timeout: TimeInterval, _ condition: (Notification) -> Bool) -> Notification? {
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            if let message = next(timeout: deadline.timeIntervalSinceNow), condition(message) { return message }
        }
        return nil
    }

    /// Every message that arrives within `seconds`.
    func collect(for seconds: TimeInterval) -> [Notification] {
        let deadline = Date().addingTimeInterval(seconds)
        var messages: [Notification] = []
        while deadline.timeIntervalSinceNow > 0 {
            if let message = next(timeout: deadline.timeIntervalSinceNow) { messages.append(message) }
        }
        return messages
    }

    var transcript: String { received.map(\.description).joined(separator: "\n") }

    /// The pid of SCM_CREDENTIALS (struct cmsghdr, then struct ucred), or -1.
    private static func senderPid(_ control: [UInt8]) -> pid_t {
        let header = MemoryLayout<Int>.size + 8
        guard control.count >= header + 4 else { return -1 }
        return control.withUnsafeBytes { raw in
            let level = raw.loadUnaligned(fromByteOffset: MemoryLayout<Int>.size, as: Int32.self)
            let type = raw.loadUnaligned(fromByteOffset: MemoryLayout<Int>.size + 4, as: Int32.self)
            guard level == SOL_SOCKET, type == 2 /* SCM_CREDENTIALS */ else { return -1 }
            return raw.loadUnaligned(fromByteOffset: header, as: pid_t.self)
        }
    }
}

final class SystemdNotifyTests: InstanceTestCase {
    /// Masters this test started itself (foreground): reaped in tearDown.
    private var foregroundMasters: [pid_t] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        if TestEnv.isStockMaster { XCTFail("sd_notify is ours: run with our master") }
    }

    override func tearDown() {
        for pid in foregroundMasters {
            var status: Int32 = 0
            // Reaped already (or never ours): its number may be another
            // process's by now, so it is not signalled.
            guard waitpid(pid, &status, WNOHANG) == 0 else { continue }
            kill(pid, SIGTERM)
            if !waitUntil(timeout: 15, { waitpid(pid, &status, WNOHANG) == pid }) {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
        }
        foregroundMasters = []
        super.tearDown()
    }

    // MARK: helpers

    private func socketPath(_ inst: PrivateInstance) -> String { inst.dir + "/notify.sock" }

    /// Starts DIR/libexec/master -c DIR/etc as systemd does: in the
    /// foreground, a session leader, with `environment` added.
    private func startForeground(_ inst: PrivateInstance, environment: [String: String]) throws -> pid_t {
        let pid = try startCommand(inst.libexec + "/master", ["-c", inst.etc],
                                   env: environment.merging(["MAIL_CONFIG": ""]) { mine, _ in mine }, newSession: true)
        foregroundMasters.append(pid)
        return pid
    }

    /// A foreground master on a new instance, notifying a new receiver; returns at READY=1.
    private func startNotifying(extraEnvironment: [String: String] = [:], abstractName: String? = nil,
                                prepare: (PrivateInstance) throws -> Void = { _ in })
        throws -> (PrivateInstance, NotifyReceiver, pid_t, Notification) {
        let inst = try makeInstance()
        try prepare(inst)
        let receiver = try NotifyReceiver(socketName: abstractName ?? socketPath(inst))
        let pid = try startForeground(inst, environment: extraEnvironment.merging(["NOTIFY_SOCKET": receiver.socketName]) { a, _ in a })
        guard let ready = receiver.waitFor(timeout: 60, { $0["READY"] == "1" }) else {
            throw HarnessError("no READY=1 within 60 s; received:\n\(receiver.transcript)\n--- log:\n\(inst.logTail(30))")
        }
        return (inst, receiver, pid, ready)
    }

    private func statusReport(_ inst: PrivateInstance) throws -> [String] {
        try UnixSocket.readLines(inst.queue + "/pid/master.status")
    }

    private static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }

    // MARK: start-up

    func testReadyComesFromTheMasterOnceListenersAcceptAndWakeupsAreScheduled() throws {
        let (inst, receiver, pid, ready) = try startNotifying()
        // At once, before anything else: the smtpd listener takes the connection.
        guard case .connected(let fd) = Net.connect(port: inst.smtpPort, timeout: 2) else {
            return XCTFail("smtpd port \(inst.smtpPort) not accepting at READY=1")
        }
        defer { close(fd) }
        let report = try statusReport(inst)
        XCTAssertEqual(Net.readLine(fd: fd, timeout: 30)?.hasPrefix("220 "), true, "smtpd greets the client accepted at READY=1")

        XCTAssertEqual(ready.senderPid, pid, "READY=1 is sent by the process systemd started (NotifyAccess=main)")
        XCTAssertNil(ready["MAINPID"], "a foreground master is the main process: no MAINPID=")
        XCTAssertEqual(receiver.received.filter { $0["READY"] != nil }.count, 1, receiver.transcript)
        XCTAssertTrue(ready["STATUS"]?.contains(" services, ") == true, "READY=1 carries a STATUS: \(ready)")
        let pickup = try XCTUnwrap(report.first { $0.contains(" name=pickup ") }, report.joined(separator: "\n"))
        XCTAssertFalse(pickup.contains("wakeup=-"), "pickup's first wakeup is scheduled at READY=1: \(pickup)")
    }

    func testAbstractNotifySocket() throws {
        let name = "@mailhost-sdnotify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let (_, _, pid, ready) = try startNotifying(abstractName: name)
        XCTAssertEqual(ready.senderPid, pid)
    }

    func testWaitModeNamesTheForkedMasterAsMainPidAndFeedsItsWatchdog() throws {
        let inst = try makeInstance()
        let receiver = try NotifyReceiver(socketName: socketPath(inst))
        // $$ is the pid of `master -w` after exec: systemd's main pid, which
        // the forked master replaces.
        let r = try runCommand("/bin/sh", ["-c", "WATCHDOG_PID=$$ exec \"$0\" -w -c \"$1\"", inst.libexec + "/master", inst.etc],
                               env: ["NOTIFY_SOCKET": receiver.socketName, "WATCHDOG_USEC": "1000000", "MAIL_CONFIG": ""],
                               timeout: 120)
        XCTAssertEqual(r.status, 0, r.output)
        let ready = try XCTUnwrap(receiver.waitFor(timeout: 30) { $0["READY"] == "1" }, receiver.transcript)
        let master = try XCTUnwrap(inst.masterPid())
        XCTAssertEqual(ready["MAINPID"], String(master), "READY=1 names the forked master: \(ready)")
        XCTAssertEqual(ready.senderPid, master)
        let fed = receiver.collect(for: 3).filter { $0["WATCHDOG"] == "1" }
        XCTAssertGreaterThanOrEqual(fed.count, 2, "the forked master feeds the watchdog WATCHDOG_PID named: \(receiver.transcript)")
        XCTAssertTrue(fed.allSatisfy { $0.senderPid == master })
    }

    // MARK: reload and stop

    func testReloadSendsReloadingWithMonotonicTimeThenReady() throws {
        let (inst, receiver, pid, _) = try startNotifying()
        let before = Self.monotonicMicroseconds()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        let reloading = try XCTUnwrap(receiver.waitFor(timeout: 30) { $0["RELOADING"] == "1" }, receiver.transcript)
        let after = Self.monotonicMicroseconds()
        let stamp = try XCTUnwrap(reloading["MONOTONIC_USEC"].flatMap { UInt64($0) }, "\(reloading)")
        XCTAssertTrue((before...after).contains(stamp), "MONOTONIC_USEC=\(stamp) not within [\(before), \(after)]")
        XCTAssertEqual(reloading.senderPid, pid)
        let ready = try XCTUnwrap(receiver.waitFor(timeout: 60) { $0["READY"] == "1" }, receiver.transcript)
        XCTAssertFalse(ready["STATUS"]?.contains("reload failed") ?? true, "\(ready)")
        XCTAssertNotNil(inst.waitForLog("reload -- version", timeout: 10))
        XCTAssertTrue(Net.greets(port: inst.smtpPort))
    }

    func testRefusedReloadIsReportedInStatusAndTheServiceStaysReady() throws {
        let (inst, receiver, pid, _) = try startNotifying()
        let good = try String(contentsOfFile: inst.masterCf, encoding: .utf8)
        try inst.appendMasterCf("bogus entry")
        let badLine = try inst.masterCfLineCount() - 1
        kill(pid, SIGHUP)
        XCTAssertNotNil(receiver.waitFor(timeout: 30) { $0["RELOADING"] == "1" }, receiver.transcript)
        let kept = try XCTUnwrap(receiver.waitFor(timeout: 30) { $0["READY"] == "1" }, receiver.transcript)
        let status = try XCTUnwrap(kept["STATUS"], "\(kept)")
        XCTAssertTrue(status.contains("reload failed"), status)
        XCTAssertTrue(status.contains("\(inst.masterCf): line \(badLine)"), "STATUS names the file and line: \(status)")
        XCTAssertTrue(Net.greets(port: inst.smtpPort), "the running configuration still serves")

        try good.write(toFile: inst.masterCf, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        let fixed = try XCTUnwrap(receiver.waitFor(timeout: 60) { $0["READY"] == "1" }, receiver.transcript)
        XCTAssertFalse(fixed["STATUS"]?.contains("reload failed") ?? true, "a good reload clears the note: \(fixed)")
    }

    func testStopSendsStopping() throws {
        let (inst, receiver, pid, _) = try startNotifying()
        XCTAssertEqual(try inst.postfix("stop").status, 0)
        let stopping = try XCTUnwrap(receiver.waitFor(timeout: 30) { $0["STOPPING"] == "1" }, receiver.transcript)
        XCTAssertEqual(stopping.senderPid, pid)
        var status: Int32 = 0
        XCTAssertTrue(waitUntil(timeout: 15) { waitpid(pid, &status, WNOHANG) == pid }, "the master exits after STOPPING=1")
        foregroundMasters.removeAll { $0 == pid }
    }

    // MARK: watchdog and status

    func testWatchdogIsFedAtHalfTheInterval() throws {
        let (_, receiver, pid, _) = try startNotifying(extraEnvironment: ["WATCHDOG_USEC": "2000000"])
        let fed = receiver.collect(for: 6).filter { $0["WATCHDOG"] == "1" }
        // Every second nominally: 6 or 7 in 6 s; generous bounds for a loaded machine.
        XCTAssertTrue((3...9).contains(fed.count), "WATCHDOG=1 \(fed.count) times in 6 s:\n\(receiver.transcript)")
        XCTAssertTrue(fed.allSatisfy { $0.senderPid == pid })
    }

    func testWatchdogOfAnotherProcessIsNotFed() throws {
        let (_, receiver, _, _) = try startNotifying(extraEnvironment: ["WATCHDOG_USEC": "500000", "WATCHDOG_PID": "1"])
        let fed = receiver.collect(for: 3).filter { $0["WATCHDOG"] != nil }
        XCTAssertTrue(fed.isEmpty, "WATCHDOG_PID=1 is not us: \(receiver.transcript)")
    }

    func testStatusNamesAThrottledService() throws {
        let port = try Net.freePort()
        let (_, receiver, _, ready) = try startNotifying { inst in
            try inst.appendMasterCf("127.0.0.1:\(port) inet n - n - - nosuchdaemon")
        }
        XCTAssertTrue(ready["STATUS"]?.hasSuffix("throttled: none") == true, "\(ready)")
        _ = Net.connect(port: port, timeout: 2)
        let throttled = receiver.waitFor(timeout: 30) { $0["STATUS"]?.contains("throttled: 127.0.0.1:\(port)") == true }
        XCTAssertNotNil(throttled, "STATUS names the throttled service:\n\(receiver.transcript)")
    }

    // MARK: failures and children

    func testUnreachableNotifySocketIsLoggedOnceAndHarmless() throws {
        let inst = try makeInstance()
        let missing = inst.dir + "/no-such-notify.sock"
        _ = try startForeground(inst, environment: ["NOTIFY_SOCKET": missing, "WATCHDOG_USEC": "200000"])
        XCTAssertTrue(Net.waitListening(port: inst.smtpPort, timeout: 60), inst.logTail(20))
        XCTAssertTrue(Net.greets(port: inst.smtpPort))
        XCTAssertTrue(waitUntil(timeout: 30) { !inst.logLines(containing: "systemd: cannot notify \(missing)").isEmpty },
                      "the first failed send is logged: \(inst.logTail(20))")
        usleep(2_000_000)   // about 10 more failed watchdog sends
        let warnings = inst.logLines(containing: "systemd: cannot notify \(missing)")
        XCTAssertEqual(warnings.count, 1, "one warning for every failed send: \(warnings)")
    }

    func testChildrenNeverSeeTheNotifyVariables() throws {
        let (inst, _, pid, _) = try startNotifying(extraEnvironment: ["WATCHDOG_USEC": "60000000"]) { inst in
            // Even when import_environment names them.
            let r = try runCommand(StockBinaries.postconfPath,
                                   ["-c", inst.etc, "-e", "import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID"])
            guard r.status == 0 else { throw HarnessError("postconf -e: \(r.output)") }
        }
        // Only children that have exec'd their daemon: one caught between
        // fork and exec still shows the master's own start-up environment
        // in /proc (unsetenv does not rewrite that block).
        let exe = { (pid: pid_t) in try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe") }
        let masterExe = exe(pid)
        var children: [pid_t] = []
        XCTAssertTrue(waitUntil(timeout: 30) {
            children = Proc.children(of: pid).filter { exe($0) != nil && exe($0) != masterExe }
            return !children.isEmpty
        }, inst.logTail(20))
        for child in children {
            let environ = try XCTUnwrap(FileManager.default.contents(atPath: "/proc/\(child)/environ"))
            let names = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self).prefix { $0 != "=" } }
            XCTAssertTrue(names.contains("MAIL_CONFIG"), "import_environment applies to \(Proc.cmdline(child)): \(names)")
            for variable in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
                XCTAssertFalse(names.contains(Substring(variable)), "\(Proc.cmdline(child)) got \(variable)")
            }
        }
    }

    // MARK: the unit

    /// systemd-analyze verify checks that ExecStart= exists: it runs on a
    /// copy of the unit whose master is the built one (installed, it is
    /// /usr/lib/mailhost/sbin/master, see the Makefile).
    func testUnitFileVerifies() throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else {
            throw HarnessError("\(analyze) missing: install Debian's systemd package (apt-get install systemd; .ci/run does)")
        }
        let unit = try String(contentsOf: TestEnv.packageRoot.appendingPathComponent("contrib/mailhost.service"), encoding: .utf8)
        let installed = "ExecStart=/usr/lib/mailhost/sbin/master\n"
        XCTAssertTrue(unit.contains(installed), "the unit runs the installed master in the foreground")
        XCTAssertTrue(unit.contains("\nType=notify\n"))
        let directory = try XCTUnwrap(instanceDirectoryForUnit())
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let copy = directory + "/mailhost.service"
        try unit.replacingOccurrences(of: installed, with: "ExecStart=\(TestEnv.masterUnderTest)\n")
            .write(toFile: copy, atomically: true, encoding: .utf8)
        let r = try runCommand(analyze, ["verify", copy], env: ["SYSTEMD_LOG_LEVEL": "notice"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(r.output.trimmingCharacters(in: .whitespacesAndNewlines), "",
                       "systemd-analyze verify reports nothing (it warns, exit 0, on unknown values)")
    }

    private func instanceDirectoryForUnit() -> String? {
        var template = Array("/tmp/mailhost-unit-XXXXXX".utf8CString)
        return mkdtemp(&template).map { String(cString: $0) }
    }
}
