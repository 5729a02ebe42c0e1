// MetricsQmgrTests.swift - the qmgr series: the metrics plugin reads the
// query document that our qmgr serves (Sources/QmgrQuery) from
// pid/qmgr.metrics. Here stock's qmgr runs (no socket) and the test serves
// one, so the exact series can be checked: the document is QueryDocument's, built from a real
// QmgrCore scheduler holding queued recipients, on a socket owned by
// mail_owner, as the master's pid/master.metrics is.
import Foundation
import XCTest
import TestSupport
import Glibc
import MailQueue
import QmgrCore
import QmgrQuery

final class MetricsQmgrTests: MetricsTestCase {
    /// smtp with three recipients for b.example and one for a.example waiting.
    func document() throws -> String {
        let scheduler = try Scheduler(settings: QmgrSettings(lookup: { _ in nil }))
        let hops = ["b.example", "b.example", "b.example", "a.example"]
        let assignments = hops.enumerated().map { index, hop in
            Assignment(transport: "smtp", nexthop: ByteString(hop),
                       recipient: QueuedRecipient(offset: 100 + index, address: ByteString("user\(index)@\(hop)")))
        }
        try scheduler.add(queueID: "Q1", batch: RecipientBatch(assignments: assignments), now: 0)
        return QueryDocument.json(scheduler.snapshot(now: 0), schedulerNow: 0, unixNow: Date().timeIntervalSince1970)
    }

    func testQmgrDocumentBecomesTransportAndDestinationSeries() throws {
        let inst = try startMetricsInstance(qmgrPlugin: false)
        XCTAssertEqual(Exposition(try scrape().body).value("mailhost_qmgr_up"), 0, "stock qmgr serves no pid/qmgr.metrics")

        let path = inst.queue + "/pid/qmgr.metrics"
        let server = try OneShotServer(path: path, document: try document())
        defer { server.stop() }
        let owner = try XCTUnwrap(getpwnam("postfix"))
        XCTAssertEqual(chown(path, owner.pointee.pw_uid, owner.pointee.pw_gid), 0)

        let reply = try scrape()
        let metrics = Exposition(reply.body)
        XCTAssertEqual(metrics.value("mailhost_qmgr_up"), 1, reply.body)
        XCTAssertEqual(metrics.value("mailhost_qmgr_active_messages"), 1)
        XCTAssertEqual(metrics.value("mailhost_qmgr_transport_concurrency_limit", ["transport": "smtp"]), 20)
        XCTAssertEqual(metrics.value("mailhost_qmgr_transport_busy_deliveries", ["transport": "smtp"]), 0)
        XCTAssertEqual(metrics.value("mailhost_qmgr_transport_throttled", ["transport": "smtp"]), 0)
        XCTAssertEqual(metrics.value("mailhost_qmgr_destination_todo_recipients", ["transport": "smtp", "destination": "b.example"]), 3)
        XCTAssertEqual(metrics.value("mailhost_qmgr_destination_todo_recipients", ["transport": "smtp", "destination": "a.example"]), 1)
        XCTAssertNotNil(metrics.value("mailhost_qmgr_destination_concurrency_window", ["destination": "b.example"]))
        XCTAssertEqual(metrics.value("mailhost_qmgr_destination_state", ["destination": "a.example", "state": "ready"]), 1)
        let check = try runCommand("/bin/sh", ["-c", "\(MetricsEnv.promtool) check metrics"], stdin: reply.body, timeout: 60)
        XCTAssertEqual(check.status, 0, "promtool check metrics:\n\(check.output)")
    }
}

/// Serves `document` to every connection on a UNIX socket at `path`, then
/// closes it (as QueryServer does), from a thread, until stopped.
final class OneShotServer: @unchecked Sendable {
    private let fd: Int32
    private let path: String
    private let thread: Thread

    init(path: String, document: String) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw HarnessError("cannot listen on \(path): \(errno)") }
        chmod(path, 0o600)
        thread = Thread { [fd] in
            let bytes = Array(document.utf8)
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }
}
