// SMTPUTF8EndToEndTests - the queue manager's part of SMTPUTF8: a delivery
// request says when a recipient address needs it, so that stock smtp(8)
// refuses (5.6.7) to hand a message that asked for SMTPUTF8 for a UTF-8
// recipient to a server that does not offer it; ASCII mail still flows.
// Run side by side: stock qmgr and our plugin, same sink, same submissions.
import Foundation
import XCTest
import TestSupport

final class SMTPUTF8EndToEndTests: QmgrPluginTestCase {
    func testUTF8RecipientNeedsAnSMTPUTF8Server() throws {
        let stock = try outcome(pluginQmgr: false)
        let ours = try outcome(pluginQmgr: true)
        XCTAssertEqual(stock.delivered, ["ascii@example.com"], "stock: the ASCII message is delivered")
        XCTAssertTrue(stock.bounceLine.contains("dsn=5.6.7"), "stock: \(stock.bounceLine)")
        XCTAssertEqual(ours.delivered, stock.delivered)
        XCTAssertTrue(ours.bounceLine.contains("dsn=5.6.7"), "ours: \(ours.bounceLine)")
        XCTAssertTrue(ours.bounceLine.contains("SMTPUTF8 is required"), ours.bounceLine)
    }

    /// Sends a message to an ASCII recipient and one to a UTF-8 recipient
    /// with sendmail (cleanup's smtputf8_autodetect_classes default marks
    /// the second as asking for SMTPUTF8) through a sink that does not offer it.
    private func outcome(pluginQmgr: Bool) throws -> (delivered: [String], bounceLine: String) {
        let sink = try makeSink { $0.offersSMTPUTF8 = false }
        let inst: PrivateInstance
        if pluginQmgr {
            inst = try startQmgrInstance(relayPort: sink.port)
        } else {
            inst = try makeInstance(relayPort: sink.port)
            try inst.start()
        }
        for recipient in ["ascii@example.com", "j\u{00F6}rg@example.com"] {
            let r = try runCommand("/usr/sbin/sendmail", ["-C", inst.etc, "-f", "root@localhost", recipient],
                                   env: ["MAIL_CONFIG": inst.etc],
                                   stdin: "Subject: utf8 test\n\nbody\n", timeout: 60)
            XCTAssertEqual(r.status, 0, "sendmail: \(r.output)")
        }
        let bounce = inst.waitForLog("to=<j\u{00F6}rg@example.com>", "status=bounced", timeout: 60) ?? "no bounce logged"
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { !sink.deliveredRecipients.isEmpty })
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 60), "queue not empty: \(inst.queuedFiles())")
        if pluginQmgr { try assertPluginQmgr(inst) }
        return (sink.deliveredRecipients, bounce)
    }
}
