// PostlogClient: how the administration tools log when main.cf sets
// maillog_file, the way stock Postfix programs do it.
// Guarantees: one record per message, "Mon DD HH:MM:SS <host label>
// <tag>[pid]: <text>" (host label = myhostname up to its first dot), sent as
// one datagram to postlogd's socket $queue_directory/public/$postlog_service_name;
// if that send fails (postlogd not running, or its queue full on a
// non-blocking socket), the record plus "\n" is appended to maillog_file
// directly (created mode 0600). Text is cut at 2000 bytes (never inside a
// UTF-8 sequence). Nothing loops without a bound; a send on a blocking
// socket (the default, as stock's) waits while postlogd's queue is full.

#if canImport(Glibc)
import Glibc
#endif

public struct PostlogClient: Sendable {
    public let socketPath: String
    public let file: String
    public let hostLabel: String
    static let maxText = 2000
    /// postlogd's address, built once (nil: the path does not fit sun_path).
    private let address: sockaddr_un?

    public init(socketPath: String, file: String, hostLabel: String) {
        self.socketPath = socketPath
        self.file = file
        self.hostLabel = hostLabel
        address = Self.unixAddress(socketPath)
    }

    private static func unixAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return address
    }

    /// The client for an instance, or nil when it logs to syslog.
    public init?(_ settings: InstanceSettings) {
        guard let file = try? settings.value("maillog_file"), !file.isEmpty else { return nil }
        let host = (try? settings.value("myhostname")) ?? "localhost"
        let service = (try? settings.value("postlog_service_name")) ?? "postlog"
        self.init(socketPath: settings.queueDirectory + "/public/" + service, file: file,
                  hostLabel: host.split(separator: ".").first.map(String.init) ?? host)
    }

    /// Logs one record, `prefix` (a level such as "warning: ") then `text`;
    /// `direct` skips postlogd and appends to the file (for the last words
    /// of a master that is terminating postlogd too).
    /// `through`: a datagram socket the caller keeps open (a process at its
    /// open-file limit can still log that way); else one per record.
    /// `pid`: the caller's cached process id (one getpid() per record otherwise).
    /// The record is assembled in one buffer kept between calls: a busy
    /// daemon logs several records per message.
    public func log(tag: String, prefix: String = "", text: String, pid: pid_t = getpid(), direct: Bool = false,
                    through socket: Int32? = nil) {
        var record = Self.buffer
        Self.buffer = []
        record.removeAll(keepingCapacity: true)
        record.append(contentsOf: Self.timestamp().utf8)
        record.append(UInt8(ascii: " "))
        record.append(contentsOf: hostLabel.utf8)
        record.append(UInt8(ascii: " "))
        record.append(contentsOf: tag.utf8)
        record.append(UInt8(ascii: "["))
        Self.appendDecimal(Int(pid), to: &record)
        record.append(contentsOf: "]: ".utf8)
        let start = record.count
        record.append(contentsOf: prefix.utf8)
        record.append(contentsOf: text.utf8)
        Self.cut(&record, from: start, to: Self.maxText)
        if direct || !send(record, through: socket) {
            record.append(UInt8(ascii: "\n"))
            append(record)
        }
        Self.buffer = record
    }

    /// Cuts the text that starts at `start` to at most `limit` bytes, never
    /// inside a UTF-8 sequence.
    static func cut(_ record: inout [UInt8], from start: Int, to limit: Int) {
        guard record.count - start > limit else { return }
        var end = start + limit
        while end > start && record[end] & 0xC0 == 0x80 { end -= 1 }
        record.removeSubrange(end...)
    }

    private static func appendDecimal(_ value: Int, to record: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &record) }
        record.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// Logging is single-threaded in every process that uses this.
    nonisolated(unsafe) private static var buffer: [UInt8] = []

    /// An unbound datagram socket for `log(through:)`, -1 on failure.
    /// Non-blocking: when postlogd's queue is full (it is not running and
    /// cannot start) the record goes to the file instead of waiting forever.
    public static func openSocket(nonBlocking: Bool = false) -> Int32 {
        let flags = Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        return socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | flags, 0)
    }

    /// A blocking socket whose sends give up after `seconds` (then the
    /// record goes to the file): waits for postlogd like a stock daemon,
    /// but not forever.
    public static func openSocket(sendTimeout seconds: Int) -> Int32 {
        let fd = openSocket(nonBlocking: false)
        guard fd >= 0 else { return fd }
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    func send(_ record: [UInt8], through socket: Int32? = nil) -> Bool {
        guard var address else { return false }
        let fd = socket ?? Self.openSocket()
        guard fd >= 0 else { return false }
        defer { if socket == nil { close(fd) } }
        let sent = record.withUnsafeBytes { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text.baseAddress, text.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        return sent >= 0
    }

    func append(_ record: [UInt8]) {
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = record.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// "Mon DD HH:MM:SS" in local time; formatted once per second (a busy
    /// daemon logs many records a second). Logging is single-threaded in
    /// every process that uses this (the master, its workers, the tools).
    static func timestamp() -> String {
        let now = time(nil)
        if let cached = lastStamp, cached.second == now { return cached.text }
        var clock = now
        var parts = tm()
        localtime_r(&clock, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%b %d %H:%M:%S", &parts)
        let text = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        lastStamp = (now, text)
        return text
    }

    nonisolated(unsafe) private static var lastStamp: (second: time_t, text: String)?
}
