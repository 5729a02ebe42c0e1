// MetricsSupport.swift - what the metrics plugin tests add to the harness:
// an instance with metrics.so installed and its master.cf line, a raw HTTP
// client (bounded by deadlines; it reads a response by its Content-Length),
// the text format parsed into samples, and the promtool/prometheus binaries
// (missing ones fail the test: they come with Debian's prometheus package,
// which .ci/run installs).
import Foundation
import XCTest
import TestSupport
import Glibc

enum MetricsEnv {
    static let promtool = "/usr/bin/promtool"
    static let prometheus = "/usr/bin/prometheus"

    /// Where libmetrics.so was built: $MAILHOST_PLUGIN_BUILD_DIR, else next to this test bundle.
    static var pluginBuildDir: String {
        if let dir = ProcessInfo.processInfo.environment["MAILHOST_PLUGIN_BUILD_DIR"], !dir.isEmpty { return dir }
        var dir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
            .deletingLastPathComponent()
        while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.path
    }

    static func requireExecutable(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) missing: install Debian's prometheus package (.ci/run does)")
        }
    }
}

class MetricsTestCase: InstanceTestCase {
    var metricsPort = 0

    /// An instance (relaying to `relayPort` when given) with metrics.so
    /// installed and enabled on a free loopback port, started.
    /// An instance with every built plugin (our qmgr.so on Debian's qmgr
    /// line included, unless `qmgrPlugin` is false: then stock's qmgr runs).
    func startMetricsInstance(relayPort: Int? = nil, options: String = "", qmgrPlugin: Bool = true) throws -> PrivateInstance {
        let inst = try makeInstance(relayPort: relayPort)
        let script = TestEnv.packageRoot.appendingPathComponent("contrib/install-daemon-dir").path
        let installed = try runCommand(script, [inst.libexec, inst.libexec + "/master", MetricsEnv.pluginBuildDir], timeout: 60)
        guard installed.status == 0, FileManager.default.fileExists(atPath: inst.libexec + "/metrics.so") else {
            throw HarnessError("install-daemon-dir did not install metrics.so from \(MetricsEnv.pluginBuildDir):\n\(installed.output)")
        }
        if !qmgrPlugin { try FileManager.default.removeItem(atPath: inst.libexec + "/qmgr.so") }
        metricsPort = try Net.freePort()
        try inst.appendMasterCf("127.0.0.1:\(metricsPort) inet n - n - 1 metrics \(options)")
        try inst.start()
        guard Net.waitListening(port: metricsPort, timeout: 10) else { throw HarnessError("metrics port \(metricsPort) not listening") }
        return inst
    }

    /// GET /metrics, retried until the service answers 200 (bounded).
    func scrape(accept: String? = nil) throws -> HTTPReply {
        var reply: HTTPReply?
        waitUntil(timeout: 15, interval: 0.3) {
            reply = try? HTTPWire.exchange(port: metricsPort, HTTPWire.get("/metrics", accept: accept))
            return reply?.status == 200
        }
        guard let reply, reply.status == 200 else { throw HarnessError("no 200 from /metrics: \(String(describing: reply))") }
        return reply
    }
}

struct HTTPReply: CustomStringConvertible {
    let status: Int
    let headers: [String: String]
    let body: String
    var description: String { "HTTP \(status) \(headers) \(body.prefix(300))" }
}

enum HTTPWire {
    static func get(_ path: String, accept: String? = nil, close: Bool = true) -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (accept.map { "Accept: \($0)\r\n" } ?? "")
            + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    static func connect(port: Int) throws -> Int32 {
        guard case .connected(let fd) = Net.connect(port: port, timeout: 10) else { throw HarnessError("cannot connect to \(port)") }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// One request on a new connection, its response.
    static func exchange(port: Int, _ request: String, timeout: TimeInterval = 20) throws -> HTTPReply {
        let fd = try connect(port: port)
        defer { close(fd) }
        _ = send(fd, request)
        guard let reply = readReply(fd, timeout: timeout) else { throw HarnessError("no response to \(request.debugDescription)") }
        return reply
    }

    /// Reads one response (head, then Content-Length bytes of body); nil on
    /// EOF or timeout before it is complete.
    static func readReply(_ fd: Int32, timeout: TimeInterval, head: Bool = false) -> HTTPReply? {
        var data: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let reply = parse(data, head: head) { return reply }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, Int32(max(1, left * 1000)))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let got = recv(fd, &buffer, buffer.count, 0)
            if got <= 0 { return nil }
            data += buffer[0..<got]
        }
    }

    private static func parse(_ data: [UInt8], head onlyHead: Bool) -> HTTPReply? {
        let text = String(decoding: data, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<end.lowerBound].components(separatedBy: "\r\n")
        let words = lines[0].split(separator: " ")
        guard words.count >= 2, let status = Int(words[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = onlyHead ? 0 : Int(headers["content-length"] ?? "") ?? 0
        let bodyBytes = Array(data[(data.count - text[end.upperBound...].utf8.count)...])
        guard bodyBytes.count >= length else { return nil }
        return HTTPReply(status: status, headers: headers, body: String(decoding: bodyBytes.prefix(length), as: UTF8.self))
    }
}

/// Samples of the text format: `name{labels}` -> value.
struct Exposition {
    let samples: [(name: String, labels: [String: String], value: Double)]

    init(_ text: String) {
        var samples: [(String, [String: String], Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf")) else { continue }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                samples.append((String(series), [:], value))
                continue
            }
            var labels: [String: String] = [:]
            let body = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            // Values in these tests hold no escaped quotes or commas.
            for pair in body.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = String(parts[1].dropFirst().dropLast()) }
            }
            samples.append((String(series[..<brace]), labels, value))
        }
        self.samples = samples
    }

    /// The value of the one sample named `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }
}
