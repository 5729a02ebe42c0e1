// MetricsHTTPTests.swift - the metrics plugin's HTTP side against hostile
// and sloppy clients: wrong paths and methods, malformed and oversized
// heads, bodies, keep-alive and HEAD, a slowloris client, 50 clients at
// once; afterwards the service still answers, its process never restarted
// and the master still runs.
import Foundation
import XCTest
import TestSupport
import Glibc

final class MetricsHTTPTests: MetricsTestCase {
    func testBadRequestsAreAnsweredOrDroppedAndTheServiceKeepsAnswering() throws {
        let inst = try startMetricsInstance(options: "-o metrics_request_timeout=2s -o metrics_max_connections=32")
        let master = try XCTUnwrap(inst.masterPid())
        _ = try scrape()

        func status(_ request: String) throws -> HTTPReply { try HTTPWire.exchange(port: metricsPort, request) }
        XCTAssertEqual(try status(HTTPWire.get("/nope")).status, 404)
        let post = try status("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.headers["allow"], "GET, HEAD")
        XCTAssertEqual(try status("BLAH\r\n\r\n").status, 400)
        XCTAssertEqual(try status("GET /metrics HTTP/1.1\r\n\r\n").status, 400, "HTTP/1.1 without Host")
        XCTAssertEqual(try status("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n").status, 400)
        XCTAssertEqual(try status("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n").status, 400)
        XCTAssertEqual(try status("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").status, 413)
        // Over the 8192-byte head limit, before the head is even complete.
        let huge = try status("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: " + String(repeating: "a", count: 10000))
        XCTAssertEqual(huge.status, 431)
        XCTAssertEqual(huge.headers["connection"], "close")

        // HEAD: the length of the body it would send, no body.
        let fd = try HTTPWire.connect(port: metricsPort)
        defer { close(fd) }
        XCTAssertTrue(HTTPWire.send(fd, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
        let head = try XCTUnwrap(HTTPWire.readReply(fd, timeout: 20, head: true))
        XCTAssertEqual(head.status, 200)
        XCTAssertGreaterThan(Int(head.headers["content-length"] ?? "") ?? 0, 100)
        // Keep-alive, two pipelined requests on the same connection.
        XCTAssertTrue(HTTPWire.send(fd, HTTPWire.get("/metrics", close: false) + HTTPWire.get("/metrics", close: false)))
        for index in 1...2 {
            let reply = try XCTUnwrap(HTTPWire.readReply(fd, timeout: 20), "pipelined response \(index)")
            XCTAssertEqual(reply.status, 200)
            XCTAssertTrue(reply.body.contains("mailhost_master_up 1\n"))
        }

        // Slowloris: a head trickled in a byte at a time is dropped after
        // metrics_request_timeout (2 s), without a response, and others are served meanwhile.
        let slow = try HTTPWire.connect(port: metricsPort)
        defer { close(slow) }
        let started = Date()
        var dropped = false
        for byte in "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "s", count: 200) {
            if !HTTPWire.send(slow, String(byte)) { dropped = true; break }
            var pfd = pollfd(fd: slow, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 250) > 0 {
                var buffer = [UInt8](repeating: 0, count: 64)
                XCTAssertEqual(recv(slow, &buffer, buffer.count, 0), 0, "no response, only the end of the connection")
                dropped = true
                break
            }
            if Date().timeIntervalSince(started) > 30 { break }
            if Date().timeIntervalSince(started) < 1.5 { XCTAssertEqual(try scrape().status, 200) }
        }
        XCTAssertTrue(dropped, "the slow client was dropped")
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)

        // 50 clients at once: each gets a complete 200 or, beyond the 32
        // connections, a 503; none is left hanging.
        let fds = try (0..<50).map { _ in try HTTPWire.connect(port: metricsPort) }
        defer { fds.forEach { close($0) } }
        for fd in fds { _ = HTTPWire.send(fd, HTTPWire.get("/metrics")) }
        var statuses: [Int] = []
        for fd in fds { statuses.append(HTTPWire.readReply(fd, timeout: 60)?.status ?? 0) }
        XCTAssertTrue(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
        XCTAssertGreaterThanOrEqual(statuses.filter { $0 == 200 }.count, 1)

        // Still answering, never restarted, the master unchanged.
        let after = Exposition(try scrape().body)
        XCTAssertEqual(after.value("mailhost_service_spawns_total", ["service": "127.0.0.1:\(metricsPort)"]), 1)
        XCTAssertNil(after.value("mailhost_service_signal_exits_total", ["service": "127.0.0.1:\(metricsPort)"]))
        XCTAssertEqual(inst.masterPid(), master)
        XCTAssertNil(inst.waitForLog("metrics", "fatal", timeout: 0.5), inst.logTail(20))
    }
}
