// FloodTests.swift - 2,000 concurrent loopback connections (all in the
// listen queue at once) against an smtpd service with process limit 10: the
// limit holds (processes counted in /proc all along), the master answers
// `postfix status`, its status socket and `postfix reload` during the flood
// (the limit is reached: seen in /proc, in the master's own count on its
// status socket, or in its process-limit warning),
// and every client is served in the end (banner, QUIT). bench/chaos flood
// reports the master's CPU per connection beside the stock master's.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class FloodTests: InstanceTestCase {
    static let connections = 2000
    static let processLimit = 10

    func testProcessLimitHoldsAndMasterAnswersDuringAFlood() throws {
        if TestEnv.isStockMaster { XCTFail("this test asserts our master's behaviour: run it with our master") }
        try raiseOwnOpenFileLimit(to: Self.connections + 200)
        let inst = try makeInstance()
        let port = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(port) inet n - n - \(Self.processLimit) smtpd")
        // The listen backlog is the larger of the process limit and
        // default_process_limit: room for every connection in the kernel's
        // accept queue, or the excess waits on TCP retransmission timers.
        try inst.setParameters("default_process_limit=\(Self.connections + 48)")
        try inst.startDirect()
        let pid = try XCTUnwrap(inst.masterPid())
        let service = "-n 127.0.0.1:\(port) "

        let flood = try Flood(port: port, count: Self.connections)
        var most = 0
        var controlDone = false
        var statusOK = false, reportOK = false, reloadOK = false
        let mark = inst.logMark()
        let deadline = Date().addingTimeInterval(240)
        var nextSample = Date()
        while !flood.finished && Date() < deadline {
            flood.step(timeout: 0.02)
            if Date() >= nextSample {
                most = max(most, inst.children(matching: service).count)
                nextSample = Date().addingTimeInterval(0.02)
            }
            // Once the flood is well under way, the master must still answer.
            if !controlDone && flood.served >= Self.connections / 100 {
                controlDone = true
                statusOK = try inst.postfix("status", timeout: 60).status == 0
                if let fd = UnixSocket.connect(inst.queue + "/pid/master.status") {
                    let report = UnixSocket.readToEnd(fd, timeout: 30)
                    close(fd)
                    reportOK = report.contains("name=127.0.0.1:\(port) ") && report.contains("limit=\(Self.processLimit) ")
                    most = max(most, Self.total(in: report, service: "127.0.0.1:\(port)"))
                }
                reloadOK = try inst.postfix("reload", timeout: 60).status == 0
                    && inst.waitForLog("postfix/master[\(pid)]: reload", since: mark, timeout: 30) != nil
            }
        }
        print("flood: \(flood.served) of \(Self.connections) served, \(flood.failed) failed, most processes \(most)")
        XCTAssertTrue(controlDone, "the flood never got going: \(flood.served) served")
        XCTAssertTrue(statusOK, "postfix status failed during the flood")
        XCTAssertTrue(reportOK, "no status report during the flood")
        XCTAssertTrue(reloadOK, "postfix reload was not done during the flood")
        XCTAssertEqual(flood.served, Self.connections, "clients served (banner and QUIT); \(flood.failed) failed")
        XCTAssertLessThanOrEqual(most, Self.processLimit, "processes of the service")
        // Sampling /proc can miss the moment all of them run at once (each
        // smtpd retires after max_use clients); the master's status report
        // and its process-limit warning say so too.
        XCTAssertTrue(most == Self.processLimit
                      || inst.waitForLog("has reached its process limit \"\(Self.processLimit)\"") != nil,
                      "the flood never reached the limit: at most \(most) processes seen, no process-limit warning")
        XCTAssertEqual(inst.masterPid(), pid)
        XCTAssertTrue(Net.banner(port: port)?.hasPrefix("220") == true, "no banner after the flood")
    }

    /// The `total=` processes of a service in the master's status report (0 if absent).
    static func total(in report: String, service: String) -> Int {
        guard let line = report.split(separator: "\n").first(where: { $0.contains("name=\(service) ") }),
              let field = line.split(separator: " ").first(where: { $0.hasPrefix("total=") }) else { return 0 }
        return Int(field.dropFirst("total=".count)) ?? 0
    }

    private func raiseOwnOpenFileLimit(to wanted: Int) throws {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { throw HarnessError("getrlimit: \(errno)") }
        guard limit.rlim_max >= rlim_t(wanted) else {
            throw HarnessError("the test needs \(wanted) descriptors; the hard limit is \(limit.rlim_max) (ulimit -Hn)")
        }
        if limit.rlim_cur < rlim_t(wanted) {
            limit.rlim_cur = rlim_t(wanted)
            guard setrlimit(resource, &limit) == 0 else { throw HarnessError("setrlimit: \(errno)") }
        }
    }
}

/// Many concurrent SMTP clients on loopback, driven by poll(): each connects
/// (non-blocking), waits for a 220 banner, sends QUIT, waits for the reply
/// or EOF, and closes. A client that fails (refused, reset, no banner) is
/// counted and not retried.
final class Flood {
    private enum Stage { case connecting, banner, quit }
    private struct Client { let fd: Int32; var stage: Stage; var buffer: [UInt8] }
    private var clients: [Client] = []
    private(set) var served = 0
    private(set) var failed = 0

    init(port: Int, count: Int) throws {
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
            var address = Net.loopback(port: port)
            let r = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if r == 0 || errno == EINPROGRESS {
                clients.append(Client(fd: fd, stage: r == 0 ? .banner : .connecting, buffer: []))
            } else {
                close(fd)
                failed += 1
            }
        }
    }

    var finished: Bool { clients.isEmpty }

    /// One poll() round over every open client.
    func step(timeout: TimeInterval) {
        guard !clients.isEmpty else { return }
        var fds = clients.map { pollfd(fd: $0.fd, events: Int16($0.stage == .connecting ? POLLOUT : POLLIN), revents: 0) }
        let n = poll(&fds, nfds_t(fds.count), Int32(timeout * 1000))
        guard n > 0 else { return }
        var remaining: [Client] = []
        for (index, var client) in clients.enumerated() {
            let events = fds[index].revents
            guard events != 0 else {
                remaining.append(client)
                continue
            }
            switch advance(&client, events) {
            case .some(true): served += 1; close(client.fd)
            case .some(false): failed += 1; close(client.fd)
            case .none: remaining.append(client)
            }
        }
        clients = remaining
    }

    /// nil: still going; true: served; false: failed.
    private func advance(_ client: inout Client, _ events: Int16) -> Bool? {
        switch client.stage {
        case .connecting:
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(client.fd, SOL_SOCKET, SO_ERROR, &code, &size)
            if code != 0 { return false }
            client.stage = .banner
            return nil
        case .banner:
            guard let line = readLine(&client) else { return nil }
            guard line.hasPrefix("220") else { return false }
            _ = "QUIT\r\n".withCString { write(client.fd, $0, 6) }
            client.stage = .quit
            return nil
        case .quit:
            // The reply or EOF: either way the session is over.
            var byte = [UInt8](repeating: 0, count: 512)
            let got = read(client.fd, &byte, byte.count)
            return got < 0 && errno == EAGAIN ? nil : true
        }
    }

    /// A complete line once it has arrived, "" at EOF or on an error, else nil.
    private func readLine(_ client: inout Client) -> String? {
        var chunk = [UInt8](repeating: 0, count: 512)
        let got = read(client.fd, &chunk, chunk.count)
        if got > 0 { client.buffer += chunk[0..<got] }
        if got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR) { return "" }
        guard let end = client.buffer.firstIndex(of: 10) else { return nil }
        return String(decoding: client.buffer[..<end], as: UTF8.self)
    }

    deinit { clients.forEach { close($0.fd) } }
}
