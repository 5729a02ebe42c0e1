// PostlogClient: how the administration tools log when main.cf sets
// maillog_file, the way stock Postfix programs do it.
// Guarantees: one record per message, "Mon DD HH:MM:SS <host label>
// <tag>[pid]: <text>" (host label = myhostname up to its first dot), sent as
// one datagram to postlogd's socket $queue_directory/public/$postlog_service_name;
// if that send fails (postlogd not running), the record plus "\n" is appended
// to maillog_file directly (created mode 0600). Text is cut at 2000 bytes.
// Nothing here blocks for long or loops without a bound.

#if canImport(Glibc)
import Glibc
#endif

public struct PostlogClient: Sendable {
    public let socketPath: String
    public let file: String
    public let hostLabel: String
    static let maxText = 2000

    public init(socketPath: String, file: String, hostLabel: String) {
        self.socketPath = socketPath
        self.file = file
        self.hostLabel = hostLabel
    }

    /// The client for an instance, or nil when it logs to syslog.
    public init?(_ settings: InstanceSettings) {
        guard let file = try? settings.value("maillog_file"), !file.isEmpty else { return nil }
        let host = (try? settings.value("myhostname")) ?? "localhost"
        let service = (try? settings.value("postlog_service_name")) ?? "postlog"
        self.init(socketPath: settings.queueDirectory + "/public/" + service, file: file,
                  hostLabel: host.split(separator: ".").first.map(String.init) ?? host)
    }

    /// Logs one record; `direct` skips postlogd and appends to the file
    /// (for the last words of a master that is terminating postlogd too).
    public func log(tag: String, text: String, direct: Bool = false) {
        let record = "\(Self.timestamp()) \(hostLabel) \(tag)[\(getpid())]: \(String(text.utf8.prefix(Self.maxText)) ?? text)"
        if direct || !send(record) { append(record + "\n") }
    }

    func send(_ record: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let sent = record.withCString { text in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text, strlen(text), 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        return sent >= 0
    }

    func append(_ record: String) {
        let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = record.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// "Mon DD HH:MM:SS" in local time.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%b %d %H:%M:%S", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
