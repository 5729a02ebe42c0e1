// PickupChrootTests.swift - our pickup with master.cf's chroot column y
// (Debian's) and n: the worker's root is the queue directory or /, and a
// sendmail submission is picked up and delivered either way; and with the
// unprivileged column n, stock's and ours still run as mail_owner.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PickupChrootTests: PickupTestCase {
    func testPluginPicksUpChrootedAndNot() throws {
        for chroot in [true, false] {
            let inst = try pickupInstance(.plugin, chroot: chroot)
            let r = try inst.sendmail(to: "nobody", body: "Subject: chroot\(chroot)\n\nbody\n")
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.1) { self.deliveredCount(inst) == 1 },
                          "chroot=\(chroot): not delivered")
            let worker = try XCTUnwrap(pickupWorker(inst))
            try assertPickup(inst, worker, is: .plugin)
            let expected = chroot ? URL(fileURLWithPath: inst.queue).resolvingSymlinksInPath().path : "/"
            var root = ""
            XCTAssertTrue(waitUntil(timeout: 10, interval: 0.05) {
                root = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(worker)/root")) ?? ""
                return root == expected
            }, "chroot=\(chroot): worker root is \(root), expected \(expected)")
            XCTAssertTrue(delivered(inst).values.contains { $0.contains("Subject: chroot\(chroot)\n") })
            XCTAssertNotNil(inst.waitForLog("postfix/pickup[\(worker)]: ", "uid=0 from=<root@localhost>", timeout: 10),
                            "chroot=\(chroot): the worker's log line did not reach the log")
            inst.destroy()
        }
    }

    /// master.cf's unprivileged column n starts pickup as root; stock pickup
    /// then switches to mail_owner itself, and so must ours.
    func testRunsAsMailOwnerWhenMasterCfSaysPrivileged() throws {
        for variant in [PickupVariant.stock, .plugin] {
            let inst = try pickupInstance(variant, start: false)
            try postconf(inst, ["-F", "pickup/unix/unprivileged=n"])
            try startAndCheck(inst, variant)
            let ownerName = try postconf(inst, ["-h", "mail_owner"]).trimmingCharacters(in: .whitespacesAndNewlines)
            let owner = try XCTUnwrap(getpwnam(ownerName), "no user \(ownerName)")
            let r = try inst.sendmail(to: "nobody", body: "Subject: privileged-\(variant)\n\nbody\n")
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.1) { self.deliveredCount(inst) == 1 }, "\(variant): not delivered")
            let worker = try XCTUnwrap(pickupWorker(inst))
            var uids = ""
            XCTAssertTrue(waitUntil(timeout: 10, interval: 0.05) {
                uids = ((try? String(contentsOfFile: "/proc/\(worker)/status", encoding: .utf8)) ?? "")
                    .split(separator: "\n").first { $0.hasPrefix("Uid:") }.map(String.init) ?? ""
                let fields = uids.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst()
                return fields.count == 4 && fields.allSatisfy { UInt32($0) == owner.pointee.pw_uid }
            }, "\(variant): pickup \(worker) does not run as mail_owner: \(uids)")
            inst.destroy()
        }
    }
}
