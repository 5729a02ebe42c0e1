// A tiny content filter for the multi-instance walk-through: an SMTP server
// on 127.0.0.1 (its own thread) that accepts each message, adds an
// "X-Filtered-By: toolstest" header and relays it over SMTP to the next hop
// (127.0.0.1:nextPort), answering the client with the next hop's verdict.
// Loopback only; every socket read is bounded by a timeout; stop() closes
// the listener and joins the thread.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class SMTPRelayFilter: @unchecked Sendable {
    let port: UInt16
    let nextPort: UInt16
    private let listener: Int32
    private var thread: Thread?
    private let lock = NSLock()
    private var stopping = false
    private(set) var relayed = 0

    init(nextPort: UInt16) throws {
        self.nextPort = nextPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ToolError("filter: socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopbackAddress(0)
        guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw ToolError("filter: bind/listen: \(errno)")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(fd, $0, &len) } }
        listener = fd
        port = UInt16(bigEndian: bound.sin_port)
    }

    func start() {
        let t = Thread { [self] in serve() }
        thread = t
        t.start()
    }

    func stop() {
        lock.lock(); stopping = true; lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for _ in 0..<100 where thread?.isFinished == false { usleep(20_000) }
    }

    private func serve() {
        for _ in 0..<1000 {
            let fd = accept(listener, nil, nil)
            lock.lock(); let done = stopping; lock.unlock()
            if fd < 0 || done { if fd >= 0 { close(fd) }; return }
            handle(SMTPLineConnection(fd))
        }
    }

    private func handle(_ client: SMTPLineConnection) {
        defer { client.close() }
        client.send("220 filter.toolstest ESMTP")
        var envelope: [String] = []
        for _ in 0..<1000 {
            guard let line = client.readLine() else { return }
            let verb = line.prefix(4).uppercased()
            switch verb {
            case "EHLO", "HELO": client.send("250 filter.toolstest")
            case "MAIL": envelope = [line]; client.send("250 2.1.0 Ok")
            case "RCPT": envelope.append(line); client.send("250 2.1.5 Ok")
            case "DATA":
                client.send("354 End data with <CR><LF>.<CR><LF>")
                var body: [String] = ["X-Filtered-By: toolstest"]
                for _ in 0..<100_000 {
                    guard let l = client.readLine() else { return }
                    if l == "." { break }
                    body.append(l)
                }
                let ok = forward(envelope, body)
                if ok { lock.lock(); relayed += 1; lock.unlock() }
                client.send(ok ? "250 2.0.0 Ok: relayed" : "451 4.3.0 next hop failed")
            case "QUIT": client.send("221 2.0.0 Bye"); return
            default: client.send("250 Ok")
            }
        }
    }

    /// One SMTP transaction with the next hop; true when it accepted the message.
    private func forward(_ envelope: [String], _ body: [String]) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        var addr = loopbackAddress(nextPort)
        let c = SMTPLineConnection(fd)
        defer { c.close() }
        guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else { return false }
        guard c.reply()?.hasPrefix("220") == true else { return false }
        c.send("EHLO filter.toolstest")
        guard c.reply()?.hasPrefix("250") == true else { return false }
        for line in envelope {
            c.send(line)
            guard c.reply()?.hasPrefix("250") == true else { return false }
        }
        c.send("DATA")
        guard c.reply()?.hasPrefix("354") == true else { return false }
        for line in body { c.send(line) }
        c.send(".")
        let accepted = c.reply()?.hasPrefix("250") == true
        c.send("QUIT")
        _ = c.reply()
        return accepted
    }

}

func loopbackAddress(_ port: UInt16) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    return a
}

/// CRLF lines over a socket, each read bounded by a 30 s receive timeout.
final class SMTPLineConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(_ fd: Int32) {
        self.fd = fd
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ line: String) {
        let bytes = Array((line + "\r\n").utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    func readLine() -> String? {
        for _ in 0..<100_000 {
            if let nl = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
        }
        return nil
    }

    /// A whole (possibly multi-line) reply; its last line.
    func reply() -> String? {
        for _ in 0..<100 {
            guard let line = readLine() else { return nil }
            if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return line }
        }
        return nil
    }

    func close() { Glibc.close(fd) }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ToolError("socket: \(errno)") }
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    guard withUnsafePointer(to: &a, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }) == 0 else {
        throw ToolError("bind: \(errno)")
    }
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: a.sin_port)
}
