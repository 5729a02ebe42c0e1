// ScriptedSink.swift - a scriptable SMTP server on loopback for delivery tests.
//
// What stock smtp-sink cannot do: answer each recipient by a rule (accept,
// 4xx, 5xx), delay a session or a message, and count what a queue manager's
// scheduling produced: sessions open at once (the most ever, to check a
// concurrency limit), sessions in all, and every message with its accepted
// recipients. Each session runs on its own thread (tests only); counters are
// read under a lock, so a test may poll them while mail flows.
//
// Guarantees: only 127.0.0.0/8 addresses are accepted for binding; stop()
// (which every user must call: the threads keep the sink alive until then)
// closes the listener, and every session notices it within 50 ms.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class ScriptedSink {
    /// How the sink answers one recipient: the first rule whose suffix the
    /// address (without <>) ends with, compared without case, wins.
    public struct RecipientRule: Sendable {
        public var suffix: String
        public var reply: String
        public init(suffix: String, reply: String) {
            self.suffix = suffix
            self.reply = reply
        }
    }

    public struct Script: Sendable {
        public var banner = "220 scripted-sink ESMTP"
        public var recipientRules: [RecipientRule] = []
        public var defaultRecipientReply = "250 2.1.5 Ok"
        public var dataReply = "250 2.0.0 Ok: queued"
        /// Seconds before the banner of every session.
        public var bannerDelay: TimeInterval = 0
        /// Seconds between the end of the message data and the reply.
        public var dataDelay: TimeInterval = 0
        /// Whether EHLO offers SMTPUTF8.
        public var offersSMTPUTF8 = true
        public init() {}
    }

    public struct Message: Sendable {
        public var sender: String
        public var recipients: [String]
        public var data: String
    }

    public let address: String
    public let port: Int
    private let script: Script
    private let listener: Int32
    private let lock = NSLock()
    private var openSessions = 0
    private var mostSessions = 0
    private var allSessions = 0
    private var received: [Message] = []
    private var stopping = false
    private var acceptThread: Thread?

    /// Listens on address:port (port 0: any free port) and starts serving.
    public init(address: String = "127.0.0.1", port: Int = 0, script: Script) throws {
        guard address.hasPrefix("127.") else { throw HarnessError("ScriptedSink binds loopback only, not \(address)") }
        self.address = address
        self.script = script
        (listener, self.port) = try Self.listen(address: address, port: port)
        let thread = Thread { self.acceptLoop() }
        acceptThread = thread
        thread.start()
    }

    /// The most sessions that were open at one time.
    public var mostConcurrentSessions: Int { locked { mostSessions } }
    public var sessions: Int { locked { allSessions } }
    public var messages: [Message] { locked { received } }
    /// Every accepted recipient of every message, in arrival order.
    public var deliveredRecipients: [String] { locked { received.flatMap(\.recipients) } }

    public func stop() {
        let first: Bool = locked {
            defer { stopping = true }
            return !stopping
        }
        if first { close(listener) }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private var isStopping: Bool { locked { stopping } }

    // MARK: - Sessions

    private func acceptLoop() {
        while !isStopping {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) == 1 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            locked {
                openSessions += 1
                allSessions += 1
                mostSessions = max(mostSessions, openSessions)
            }
            Thread {
                var ended = false
                // A session stops counting before its 221 reply: the client
                // may open its next session as soon as it reads that reply.
                let end = { if !ended { ended = true; self.locked { self.openSessions -= 1 } } }
                self.serve(fd, ending: end)
                end()
                close(fd)
            }.start()
        }
    }

    private func serve(_ fd: Int32, ending: () -> Void) {
        let session = LineSession(fd: fd, stopped: { self.isStopping })
        if script.bannerDelay > 0 { sleepUnlessStopped(script.bannerDelay) }
        guard session.send(script.banner) else { return }
        var sender = "", recipients: [String] = []
        while let line = session.readLine() {
            let verb = line.prefix(4).uppercased()
            switch verb {
            case "EHLO":
                let last = script.offersSMTPUTF8 ? "250-8BITMIME\r\n250 SMTPUTF8" : "250 8BITMIME"
                guard session.send("250-scripted-sink\r\n250-PIPELINING\r\n" + last) else { return }
            case "HELO", "NOOP":
                guard session.send("250 Ok") else { return }
            case "MAIL":
                sender = Self.angleAddress(line)
                recipients = []
                guard session.send("250 2.1.0 Ok") else { return }
            case "RCPT":
                let recipient = Self.angleAddress(line)
                let reply = replyFor(recipient)
                if reply.hasPrefix("2") { recipients.append(recipient) }
                guard session.send(reply) else { return }
            case "DATA":
                guard !recipients.isEmpty else {
                    guard session.send("554 5.5.1 Error: no valid recipients") else { return }
                    continue
                }
                guard session.send("354 End data with <CR><LF>.<CR><LF>"), let data = session.readData() else { return }
                if script.dataDelay > 0 { sleepUnlessStopped(script.dataDelay) }
                if script.dataReply.hasPrefix("2") {
                    locked { received.append(Message(sender: sender, recipients: recipients, data: data)) }
                }
                recipients = []
                guard session.send(script.dataReply) else { return }
            case "RSET":
                recipients = []
                guard session.send("250 2.0.0 Ok") else { return }
            case "QUIT":
                ending()
                _ = session.send("221 2.0.0 Bye")
                return
            default:
                guard session.send("502 5.5.2 Error: command not recognized") else { return }
            }
        }
    }

    private func replyFor(_ recipient: String) -> String {
        let lowered = recipient.lowercased()
        return script.recipientRules.first { lowered.hasSuffix($0.suffix.lowercased()) }?.reply
            ?? script.defaultRecipientReply
    }

    private func sleepUnlessStopped(_ seconds: TimeInterval) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && !isStopping { usleep(20_000) }
    }

    /// The address between < and > of a MAIL FROM or RCPT TO command.
    static func angleAddress(_ line: String) -> String {
        guard let open = line.firstIndex(of: "<"), let close = line[open...].firstIndex(of: ">") else { return "" }
        return String(line[line.index(after: open)..<close])
    }

    private static func listen(address: String, port: Int) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = Net.loopback(port: port)
        sin.sin_addr.s_addr = inet_addr(address)
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("ScriptedSink cannot listen on \(address):\(port): \(text)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: sin.sin_port)))
    }
}

/// CRLF lines over one blocking socket, every read bounded by poll() so a
/// stopping sink is noticed; a session idle for 300 s is ended.
private final class LineSession {
    private let fd: Int32
    private let stopped: () -> Bool
    private var buffer: [UInt8] = []

    init(fd: Int32, stopped: @escaping () -> Bool) {
        self.fd = fd
        self.stopped = stopped
    }

    func send(_ reply: String) -> Bool {
        let bytes = Array((reply + "\r\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// One line without its CRLF; nil at EOF, on an error, when stopping or idle.
    func readLine() -> String? {
        while true {
            if let end = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard fill() else { return nil }
        }
    }

    /// Message data up to the lone "." line, dot-unstuffed, lines joined by \n.
    func readData() -> String? {
        var lines: [String] = []
        while let line = readLine() {
            if line == "." { return lines.joined(separator: "\n") }
            lines.append(line.hasPrefix(".") ? String(line.dropFirst()) : line)
        }
        return nil
    }

    private func fill() -> Bool {
        let idleDeadline = Date().addingTimeInterval(300)
        while !stopped() && Date() < idleDeadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 50)
            if ready < 0 && errno != EINTR { return false }
            guard ready == 1 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let got = read(fd, &chunk, chunk.count)
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return false }
            buffer += chunk[0..<got]
            return true
        }
        return false
    }
}
