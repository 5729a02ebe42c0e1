// QmgrRoutingEndToEndTests - our queue manager (qmgr.so on Debian's qmgr
// line) with routes and administration beyond plain delivery: the
// `error:` and `discard:` transports chosen by transport_maps (stock
// error(8) bounces, stock discard(8) discards), and hold/release with the
// verified stock postsuper: a held message stays put, a released one is
// delivered after postqueue -f; and a chrooted qmgr (master.cf's chroot
// column set to y), which works with queue-relative paths as stock's does.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class QmgrRoutingEndToEndTests: QmgrPluginTestCase {
    func testErrorAndDiscardTransportsFromTransportMaps() throws {
        let sink = try makeSink()
        let inst = try startQmgrInstance(relayPort: sink.port) { inst in
            let table = inst.etc + "/transport"
            try "err.example error:5.7.1 refused by policy\ngone.example discard:silently\n"
                .write(toFile: table, atomically: true, encoding: .utf8)
            return ["transport_maps = texthash:" + table]
        }
        try submit(inst, to: "someone@err.example", subject: "to-error")
        try submit(inst, to: "someone@gone.example", subject: "to-discard")
        try submit(inst, to: "someone@example.com", subject: "to-relay")
        XCTAssertNotNil(inst.waitForLog("postfix/error[", "to=<someone@err.example>", "status=bounced (refused by policy)",
                                        timeout: 30))
        XCTAssertNotNil(inst.waitForLog("postfix/discard[", "to=<someone@gone.example>", "status=sent (silently)",
                                        timeout: 30))
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { sink.deliveredRecipients == ["someone@example.com"] },
                      "the sink got \(sink.deliveredRecipients)")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
            inst.mailbox("root").contains { $0.contains("someone@err.example") && $0.contains("refused by policy") }
        }, "no DSN for the error transport in root's mailbox")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
    }

    func testHoldAndReleaseWithStockPostsuper() throws {
        let later = try makeSink { $0.recipientRules = [.init(suffix: "held@example.com", reply: "450 4.2.0 not now")] }
        let inst = try startQmgrInstance(relayPort: later.port)
        try submit(inst, to: "held@example.com", subject: "hold-one")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.files(inst, in: "deferred").count == 1 },
                      "not deferred: \(inst.queuedFiles())")
        let id = try XCTUnwrap(files(inst, in: "deferred").first.map { ($0 as NSString).lastPathComponent })
        let postsuper = try StockBinaries.verifiedInPlace("/usr/sbin/postsuper", runs: StockBinaries.libraries)
        var r = try runCommand(postsuper, ["-c", inst.etc, "-h", id], timeout: 30)
        XCTAssertEqual(r.status, 0, "postsuper -h: \(r.output)")
        XCTAssertEqual(files(inst, in: "hold"), [id])

        let accepting = try replaceWithAcceptingSink(later)
        let postqueue = try QmgrPluginEnv.postqueue()
        r = try runCommand(postqueue, ["-c", inst.etc, "-f"], env: ["MAIL_CONFIG": inst.etc], timeout: 30)
        XCTAssertEqual(r.status, 0, "postqueue -f: \(r.output)")
        // Held mail is not delivered by a flush.
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(files(inst, in: "hold"), [id])
        XCTAssertTrue(accepting.deliveredRecipients.isEmpty)

        r = try runCommand(postsuper, ["-c", inst.etc, "-H", id], timeout: 30)
        XCTAssertEqual(r.status, 0, "postsuper -H: \(r.output)")
        r = try runCommand(postqueue, ["-c", inst.etc, "-f"], env: ["MAIL_CONFIG": inst.etc], timeout: 30)
        XCTAssertEqual(r.status, 0, "postqueue -f: \(r.output)")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { accepting.deliveredRecipients == ["held@example.com"] },
                      "after the release the sink got \(accepting.deliveredRecipients)")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
        XCTAssertNotNil(inst.waitForLog("postfix/qmgr[", "\(id): removed", timeout: 10))
    }

    func testChrootedQmgrDelivers() throws {
        let inst = try startQmgrInstance()
        inst.stopAll()
        XCTAssertTrue(waitUntil(timeout: 15) { inst.masterPid() == nil })
        try postconf(inst, ["-F", "qmgr/unix/chroot = y"])
        try inst.start()
        try assertPluginQmgr(inst)
        let worker = try XCTUnwrap(qmgrWorker(inst))
        // The worker loads qmgr.so before it enters the jail: wait for chroot.
        let queue = URL(fileURLWithPath: inst.queue).resolvingSymlinksInPath().path
        var root = ""
        XCTAssertTrue(waitUntil(timeout: 15, interval: 0.1) {
            root = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(worker)/root")) ?? "")
            return URL(fileURLWithPath: root).resolvingSymlinksInPath().path == queue
        }, "qmgr is not chrooted: its root is \(root)")
        try submit(inst, to: "nobody@localhost", subject: "chrooted-one")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { inst.mailbox("nobody").contains { $0.contains("chrooted-one") } },
                      "nothing delivered by the chrooted qmgr")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 30), "queue not empty: \(inst.queuedFiles())")
        // The jailed worker still reaches postlogd: its socket path is cut
        // to the part inside the chroot.
        let qmgrLines = { ((try? String(contentsOfFile: inst.logFile, encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { $0.contains("/qmgr[\(worker)]:") } }
        XCTAssertTrue(waitUntil(timeout: 10, interval: 0.2) { qmgrLines().contains { $0.contains("removed") } },
                      "no 'removed' line from the chrooted qmgr worker \(worker) in \(inst.logFile)")
    }
}
