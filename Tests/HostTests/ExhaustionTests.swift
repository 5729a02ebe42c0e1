// ExhaustionTests.swift - the master under exhausted resources: its open-file
// limit, fork() failing, the queue file system full. In each case it must
// log a clear warning, throttle what it must, keep running, and recover when
// the resource returns; mail a client saw accepted (250) is delivered.
//
// Descriptors: each service costs the master one descriptor per listener and
// two for its status channel; Debian's master.cf (31 services) does not fit
// in 64 for either master. A hard limit of 64 cannot carry mail anyway: the
// stock multi-server daemons move every client to a descriptor from 128 up
// (fatal "fcntl F_DUPFD" below that). So the runtime case lowers the running
// master's soft limit to what it uses and leaves the hard limit, which
// stock daemons raise their own soft limit to.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class ExhaustionTests: InstanceTestCase {
    private var cgroups: [PidsCgroup] = []
    private var mounts: [Tmpfs] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        if TestEnv.isStockMaster { XCTFail("these tests assert our master's behaviour: run them with our master") }
    }

    override func tearDown() {
        // Processes first: a cgroup or mount in use cannot go.
        instances.forEach { $0.stopAll() }
        cgroups.forEach { $0.remove() }
        mounts.forEach { $0.unmount() }
        cgroups = []
        mounts = []
        super.tearDown()
    }

    // MARK: open files

    /// Like stock (events.c open_limit), the master raises its soft limit to
    /// the hard limit: with a soft limit of 64 Debian's master.cf still starts.
    func testSoftOpenFileLimitIsRaisedToTheHardLimitAsStockDoes() throws {
        for master in [TestEnv.masterUnderTest, try StockBinaries.master()] {
            let inst = try makeInstance(master: master)
            let r = try inst.startDirect(openFiles: 64, hard: 4096)
            XCTAssertEqual(r.status, 0, "\(master) under --nofile=64:4096: \(r.output)\n\(inst.logTail(10))")
            let pid = try XCTUnwrap(inst.masterPid(), "\(master) does not run")
            let limit = ProcResources.openFileLimit(pid)
            XCTAssertEqual(limit?.soft, "4096", "\(master): open-file limits \(String(describing: limit))")
            XCTAssertGreaterThan(ProcResources.descriptors(pid).count, 64, "Debian's master.cf needs more than 64")
            inst.stopAll()
        }
    }

    /// A hard limit of 64 is too small for Debian's master.cf: the master
    /// says so at start-up (warning as stock, then a fatal error that names
    /// the service and the limit) and exits; stock exits too.
    func testDebianMasterCfUnderHardLimit64IsRefusedWithAClearMessage() throws {
        let stock = try makeInstance(master: try StockBinaries.master())
        XCTAssertNotEqual(try stock.startDirect(openFiles: 64, hard: 64).status, 0, "stock starts in 64 descriptors?")
        let inst = try makeInstance()
        let r = try inst.startDirect(openFiles: 64, hard: 64)
        XCTAssertNotEqual(r.status, 0, "our master started with Debian's master.cf in 64 descriptors")
        XCTAssertNotNil(inst.waitForLog("warning: could allocate space for only 64 open files"))
        let fatal = try XCTUnwrap(inst.waitForLog("postfix/master[", "fatal: "), inst.logTail(10))
        XCTAssertTrue(fatal.contains("Too many open files") && fatal.contains("open file limit 64"), fatal)
    }

    /// The master at its open-file limit (the soft limit lowered to what it
    /// uses; the hard limit stays, so stock daemons, which raise their soft
    /// limit and need descriptors from 128 up, still work). With no
    /// descriptor to spare: a status client is answered later (no busy loop
    /// meanwhile), the warning is logged, new smtpd processes start and mail
    /// flows. With one to spare: a reload replaces the status channel of the
    /// first service (its descriptors are below the limit) by closing the old
    /// one first, as stock does, so its idle smtpd retires. With the limit
    /// back everything works and no descriptor leaked. With a hard limit just
    /// above the master's descriptors new processes still start.
    func testMasterAtItsOpenFileLimitKeepsServingAndRecovers() throws {
        let inst = try makeInstance()
        // Every process of this second smtpd serves one client: each message needs a new one.
        let freshPort = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(freshPort) inet n - n - - smtpd -o max_use=1")
        try inst.setParameters("service_throttle_time=5s")
        let r = try inst.startDirect(openFiles: 1024, hard: 1024)
        XCTAssertEqual(r.status, 0, inst.logTail(10))
        let pid = try XCTUnwrap(inst.masterPid())
        let mail = try TrackedMail(port: freshPort, tag: "nofile", timeout: 60)
        let firstService = try TrackedMail(port: inst.smtpPort, tag: "first", timeout: 60)
        XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250")
        let resting = ProcResources.restingFigures(pid)

        // No descriptor to spare.
        try ProcResources.setOpenFileLimit(pid, soft: Int(ProcResources.freeDescriptor(pid)), hard: 1024)
        var mark = inst.logMark()
        let cpuBefore = ProcResources.cpuTicks(pid)
        let client = UnixSocket.connect(inst.queue + "/pid/master.status")
        XCTAssertNotNil(client, "connect to the status socket")
        sleep(3)
        let spent = Double(ProcResources.cpuTicks(pid) - cpuBefore) / Double(ProcResources.ticksPerSecond)
        XCTAssertLessThan(spent, 1.0, "the master spun (\(spent) s of CPU in 3 s) on a connection it cannot accept")
        XCTAssertNotNil(inst.waitForLog("postfix/master[\(pid)]: warning: ", "Too many open files", since: mark),
                        "no warning logged at the limit: \(inst.log(since: mark))")
        for _ in 0..<3 { XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250", inst.log(since: mark)) }
        XCTAssertEqual(try firstService.send(to: "nobody@localhost"), "250", inst.log(since: mark))
        XCTAssertTrue(Proc.isAlive(pid))

        // One descriptor to spare: enough to read the configuration.
        let idle = try XCTUnwrap(inst.children(matching: "-n 127.0.0.1:\(inst.smtpPort) ").first, "no idle smtpd")
        try ProcResources.setOpenFileLimit(pid, soft: Int(ProcResources.freeDescriptor(pid, index: 1)), hard: 1024)
        mark = inst.logMark()
        kill(pid, SIGHUP)
        XCTAssertNotNil(inst.waitForLog("postfix/master[\(pid)]: reload", since: mark, timeout: 10))
        XCTAssertTrue(waitUntil(timeout: 20) { !Proc.isAlive(idle) }, "smtpd \(idle) did not retire at reload:\n\(inst.log(since: mark))")

        // The limit returns.
        try ProcResources.setOpenFileLimit(pid, soft: 1024, hard: 1024)
        let report = client.map { UnixSocket.readToEnd($0, timeout: 10) } ?? ""
        XCTAssertTrue(report.hasPrefix("master pid=\(pid)"), "the waiting status client got: \(report)")
        if let client { close(client) }
        XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250")
        XCTAssertTrue(waitUntil(timeout: 60) { inst.completeQueueFiles().isEmpty }, "queue: \(inst.queuedFiles())")
        let mailboxes = [inst.dir + "/mail/nobody/new", inst.dir + "/mail/nobody/cur"]
        for tracked in [mail, firstService] {
            let copies = tracked.deliveredCopies(inDirectories: mailboxes)
            XCTAssertEqual(Set(copies.keys), tracked.accepted, "accepted but not delivered")
        }
        XCTAssertEqual(ProcResources.restingFigures(pid).descriptors, resting.descriptors, "descriptors leaked")
        XCTAssertEqual(inst.masterPid(), pid)

        // Last (a hard limit cannot be raised again without CAP_SYS_RESOURCE):
        // soft and hard limit just above the highest descriptor in use, so
        // only the master's few unused low numbers are free. A new smtpd
        // still gets its descriptors in place.
        let highest = try XCTUnwrap(ProcResources.descriptors(pid).last)
        try ProcResources.setOpenFileLimit(pid, soft: Int(highest) + 1, hard: Int(highest) + 1)
        mark = inst.logMark()
        XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250", inst.log(since: mark))
    }

    // MARK: the log

    /// postlogd cannot start (a missing command): its socket's queue fills
    /// after ten records. A blocking send would stop the master for good (the
    /// stock master hangs in sendto, deaf even to SIGTERM); ours writes the
    /// records to maillog_file itself and keeps answering.
    func testMasterKeepsRunningWhenPostlogdCannotStart() throws {
        let inst = try makeInstance()
        let edit = try runCommand("/usr/sbin/postconf", ["-c", inst.etc, "-Me",
                                                         "postlog/unix-dgram=postlog unix-dgram n - n - 1 nosuchpostlogd"])
        XCTAssertEqual(edit.status, 0, edit.output)
        try inst.startDirect()
        let pid = try XCTUnwrap(inst.masterPid())
        // Records beyond the socket's queue length go straight to the file.
        let queueLength = Int((try? String(contentsOfFile: "/proc/sys/net/unix/max_dgram_qlen", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 10
        for _ in 0..<(queueLength + 5) {
            kill(pid, SIGHUP)
            usleep(200_000)
        }
        let reloads = { inst.logLines(containing: "postfix/master[\(pid)]: reload -- ").count }
        XCTAssertTrue(waitUntil(timeout: 30) { reloads() >= 5 }, "reloads logged: \(reloads())")
        let client = try XCTUnwrap(UnixSocket.connect(inst.queue + "/pid/master.status"), "status socket")
        XCTAssertTrue(UnixSocket.readToEnd(client, timeout: 10).hasPrefix("master pid=\(pid)"), "no status report")
        close(client)
        kill(pid, SIGTERM)
        XCTAssertTrue(waitUntil(timeout: 15) { !Proc.isAlive(pid) }, "the master did not end on SIGTERM")
    }

    // MARK: fork

    /// fork() fails (the master's pids cgroup is full): each attempt is
    /// logged and throttles its service for service_throttle_time, with no
    /// retry loop and no busy loop; the client waits; once processes may be
    /// created again, its message is accepted and delivered.
    func testForkFailureThrottlesAndRecovers() throws {
        let inst = try makeInstance()
        let freshPort = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(freshPort) inet n - n - - smtpd -o max_use=1")
        try inst.setParameters("service_throttle_time=2s")
        try inst.startDirect()
        let pid = try XCTUnwrap(inst.masterPid())
        let mail = try TrackedMail(port: freshPort, tag: "fork", timeout: 90)
        XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250")

        let cgroup = try PidsCgroup(name: "mailhost-test-\(getpid())-\(pid)")
        cgroups.append(cgroup)
        try cgroup.add(pid)
        try cgroup.limit(cgroup.members.count)
        let mark = inst.logMark()
        let cpuBefore = ProcResources.cpuTicks(pid)
        let waiting = try mail.start(to: "nobody@localhost")
        let window = 9.0
        usleep(useconds_t(window * 1_000_000))
        let failures = inst.logLines(since: mark, containing: "master_spawn: fork: Resource temporarily unavailable -- throttling")
        XCTAssertFalse(failures.isEmpty, "no fork failure logged:\n\(inst.log(since: mark))")
        // One attempt per throttle period and service (2 s in 9 s: 5), for a few services.
        XCTAssertLessThanOrEqual(failures.count, 40, "a fork failure loop: \(failures.count) failures in \(window) s")
        let spent = Double(ProcResources.cpuTicks(pid) - cpuBefore) / Double(ProcResources.ticksPerSecond)
        XCTAssertLessThan(spent, 2.0, "the master used \(spent) s of CPU in \(window) s while fork failed")
        mail.poll()
        XCTAssertNil(mail.replies[waiting], "the client got a reply while no smtpd could start")

        try cgroup.limit(nil)
        mail.finish(timeout: 90)
        XCTAssertEqual(mail.replies[waiting], "250", inst.log(since: mark))
        XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250")
        XCTAssertTrue(waitUntil(timeout: 60) { inst.completeQueueFiles().isEmpty }, "queue: \(inst.queuedFiles())")
        let copies = mail.deliveredCopies(inDirectories: [inst.dir + "/mail/nobody/new", inst.dir + "/mail/nobody/cur"])
        XCTAssertEqual(Set(copies.keys), mail.accepted, "accepted but not delivered")
        XCTAssertEqual(inst.masterPid(), pid)
    }

    // MARK: a full queue file system

    /// The queue on a full tmpfs: clients get 4xx (smtpd cannot queue), the
    /// master keeps running, and once there is room again mail is accepted;
    /// everything accepted is delivered.
    func testFullQueueFileSystemGives4xxAndRecovers() throws {
        let inst = try makeInstance()
        let tmpfs = try Tmpfs(at: inst.queue, megabytes: 24)
        mounts.append(tmpfs)
        // Lay the queue out again, now on the tmpfs.
        let remake = try runCommand(TestEnv.packageRoot.appendingPathComponent("contrib/make-instance").path,
                                    [inst.dir, "--master", inst.master, "--smtp-port", String(inst.smtpPort)],
                                    env: ["MAIL_CONFIG": ""], timeout: 120)
        XCTAssertEqual(remake.status, 0, remake.output)
        try inst.startDirect()
        let pid = try XCTUnwrap(inst.masterPid())
        let mail = try TrackedMail(port: inst.smtpPort, tag: "full", timeout: 60)
        XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250")

        try tmpfs.fill()
        let mark = inst.logMark()
        for _ in 0..<3 {
            let reply = try mail.send(to: "nobody@localhost")
            XCTAssertEqual(reply, "4xx", "with the queue full: \(reply)\n\(inst.log(since: mark))")
        }
        XCTAssertEqual(inst.masterPid(), pid, "the master is gone")

        tmpfs.unfill()
        XCTAssertEqual(try mail.send(to: "nobody@localhost"), "250", inst.log(since: mark))
        XCTAssertTrue(waitUntil(timeout: 60) { inst.completeQueueFiles().isEmpty }, "queue: \(inst.queuedFiles())")
        let copies = mail.deliveredCopies(inDirectories: [inst.dir + "/mail/nobody/new", inst.dir + "/mail/nobody/cur"])
        XCTAssertEqual(Set(copies.keys), mail.accepted, "accepted but not delivered")
        XCTAssertEqual(mail.accepted.count, 2)
        XCTAssertEqual(inst.masterPid(), pid)
    }
}
