// ChaosTests.swift - the master while its children are killed at random.
//
// Debian's master.cf plus a plugin service (the echo plugin), mail at a
// steady rate (one smtp-source per message, each with a Subject token; half
// to a local maildir, half through smtp(8) to an smtp-sink that dumps every
// message), and a SIGKILL to a random child of the master every 200 ms:
// smtpd, cleanup, qmgr, trivial-rewrite, local, smtp, postlogd, plugin
// workers, whatever runs. Afterwards every message that got 250 after DATA
// must be delivered, no finished queue file may stay (in active or
// elsewhere), the master must never have exited, and its descriptors and
// memory at rest must be what they were after a warm-up. bench/chaos runs
// the long version beside the stock master and reports figures.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class ChaosTests: InstanceTestCase {
    static let rate = 3.0                 // messages per second
    static let warmup = 15.0              // seconds of mail before the kills
    static let chaos = 75.0               // seconds of kills
    static let killInterval = 0.2
    static let recipients = ["nobody@localhost", "sink@example.com"]

    private var sink: SmtpSink?

    override func tearDown() {
        instances.forEach { $0.stopAll() }
        sink?.stop()
        sink = nil
        super.tearDown()
    }

    func testRandomChildKilledEvery200msLosesNoAcceptedMail() throws {
        if TestEnv.isStockMaster { XCTFail("this test asserts our master's behaviour: run it with our master") }
        let dump = NSTemporaryDirectory() + "chaos-sink-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o777])
        defer { try? FileManager.default.removeItem(atPath: dump) }
        let sink = try SmtpSink(dumpDirectory: dump)
        self.sink = sink
        let inst = try makeInstance(relayPort: sink.port)
        let echoPort = try Net.freePort()
        try inst.installEchoPlugin()
        try inst.appendMasterCf("127.0.0.1:\(echoPort) inet n - n - - echo")
        try inst.setParameters("service_throttle_time=5s", "minimal_backoff_time=5s", "maximal_backoff_time=10s",
                               "queue_run_delay=5s")
        try inst.startDirect()
        let pid = try XCTUnwrap(inst.masterPid())
        let mailboxes = [inst.dir + "/mail/nobody/new", inst.dir + "/mail/nobody/cur", dump]

        // Warm-up: mail flows, nothing is killed; then the figures at rest.
        let warm = try TrackedMail(port: inst.smtpPort, tag: "warm", timeout: 60)
        XCTAssertTrue(try steadyLoad(warm, seconds: Self.warmup, master: pid) { _ in })
        warm.finish(timeout: 60)
        XCTAssertTrue(drain(inst, warm, mailboxes, timeout: 60), "warm-up mail not delivered")
        let rested = ProcResources.restingFigures(pid)

        // Chaos.
        let mail = try TrackedMail(port: inst.smtpPort, tag: "chaos", timeout: 120)
        var kills: [String: Int] = [:]
        var nextKill = Date()
        var nextEcho = Date()
        var echoes = 0
        let survived = try steadyLoad(mail, seconds: Self.chaos, master: pid) { now in
            if now >= nextKill {
                nextKill = now.addingTimeInterval(Self.killInterval)
                if let victim = Proc.children(of: pid).randomElement() {
                    let name = ProcResources.comm(victim)
                    if kill(victim, SIGKILL) == 0 { kills[name, default: 0] += 1 }
                }
            }
            if now >= nextEcho {
                nextEcho = now.addingTimeInterval(0.5)
                if echo(port: echoPort) { echoes += 1 }
            }
        }
        XCTAssertTrue(survived, "the master exited during the chaos")
        mail.finish(timeout: 120)
        let drained = drain(inst, mail, mailboxes, timeout: 180)

        let copies = mail.deliveredCopies(inDirectories: mailboxes)
        let lost = mail.accepted.subtracting(copies.keys).sorted()
        let duplicates = copies.values.filter { $0 > 1 }.reduce(0) { $0 + $1 - 1 }
        print("chaos: sent \(mail.sent), 250 \(mail.count("250")), 4xx \(mail.count("4xx")), no reply \(mail.count("none")), "
              + "delivered \(copies.count), duplicates \(duplicates), echo exchanges \(echoes), kills \(kills)")
        XCTAssertTrue(drained, "not drained: lost \(lost.prefix(20)), queue \(inst.completeQueueFiles())")
        XCTAssertEqual(lost, [], "accepted (250) but never delivered")
        XCTAssertGreaterThan(mail.count("250"), 0, "nothing was accepted during the chaos")
        XCTAssertEqual(inst.completeQueueFiles(in: ["active"]), [], "mail stays in active")
        XCTAssertEqual(inst.masterPid(), pid, "the master was replaced")
        XCTAssertGreaterThan(kills.values.reduce(0, +), Int(Self.chaos / Self.killInterval / 2), "the killer did not kill")
        XCTAssertNotNil(kills["echo"], "no plugin worker was killed: \(kills)")

        let after = ProcResources.restingFigures(pid)
        XCTAssertEqual(after.descriptors, rested.descriptors, "the master's descriptors at rest")
        // AddressSanitizer keeps freed memory in quarantine: RSS says nothing there.
        if ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil {
            XCTAssertLessThanOrEqual(after.rssKB, rested.rssKB + 1024, "the master's RSS grew from \(rested.rssKB) kB")
        }
    }

    /// Sends at `rate` for `seconds`, calling `tick` about every 20 ms;
    /// false as soon as the master is gone.
    private func steadyLoad(_ mail: TrackedMail, seconds: Double, master: pid_t, tick: (Date) -> Void) throws -> Bool {
        let start = Date()
        var sent = 0
        while Date().timeIntervalSince(start) < seconds {
            while Double(sent) < Date().timeIntervalSince(start) * Self.rate {
                try mail.start(to: Self.recipients[sent % Self.recipients.count])
                sent += 1
            }
            tick(Date())
            mail.poll()
            if !Proc.isAlive(master) { return false }
            usleep(20_000)
        }
        return true
    }

    /// Waits until every accepted message is delivered and no finished queue
    /// file is left, retrying deferred mail now and then.
    private func drain(_ inst: PrivateInstance, _ mail: TrackedMail, _ mailboxes: [String], timeout: TimeInterval) -> Bool {
        var lastFlush = Date.distantPast
        return waitUntil(timeout: timeout, interval: 0.5) {
            if Date().timeIntervalSince(lastFlush) > 10 {
                inst.flushQueue()
                lastFlush = Date()
            }
            return inst.completeQueueFiles().isEmpty
                && mail.accepted.isSubset(of: mail.deliveredCopies(inDirectories: mailboxes).keys)
        }
    }

    /// One greeting and one echoed line from the echo plugin, briefly.
    private func echo(port: Int) -> Bool {
        guard case .connected(let fd) = Net.connect(port: port, timeout: 0.3) else { return false }
        defer { close(fd) }
        guard Net.readLine(fd: fd, timeout: 0.3)?.isEmpty == false else { return false }
        _ = "ping\r\n".withCString { write(fd, $0, 6) }
        return Net.readLine(fd: fd, timeout: 0.3)?.hasPrefix("ping") == true
    }
}
