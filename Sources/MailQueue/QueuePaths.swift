// QueuePaths: queue names and where a queue file lives relative to
// queue_directory, as stock computes it (mail_queue_dir/mail_queue_path and
// dir_forest): for a queue listed in hash_queue_names (case-insensitive),
// `queue/` + one directory per hash_queue_depth level, named by the i-th
// character of the ID's hash key ("_" when the key is shorter), + the ID;
// otherwise `queue/ID`. Never searches the file system.

/// A validated queue name: 1..100 ASCII letters and digits (mail_queue_name_ok).
public struct QueueName: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public init?(_ text: String) {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= 100, bytes.allSatisfy(QueueID.isAlphanumeric) else { return nil }
        self.text = text
    }

    private init(known: String) { text = known }

    public var description: String { text }

    public static let maildrop = QueueName(known: "maildrop")
    public static let incoming = QueueName(known: "incoming")
    public static let active = QueueName(known: "active")
    public static let deferred = QueueName(known: "deferred")
    public static let hold = QueueName(known: "hold")
    public static let corrupt = QueueName(known: "corrupt")
    public static let bounce = QueueName(known: "bounce")
    public static let `defer` = QueueName(known: "defer")
    public static let trace = QueueName(known: "trace")
    public static let flush = QueueName(known: "flush")
    public static let saved = QueueName(known: "saved")
}

/// The hash_queue_names and hash_queue_depth settings.
public struct QueueHashing: Sendable, Equatable {
    public let hashedQueues: [String]
    public let depth: Int

    public enum SettingError: Error, Equatable, CustomStringConvertible {
        case badDepth(Int)
        public var description: String {
            switch self {
            case .badDepth(let d): return "invalid hash_queue_depth: \(d) (must be at least 1)"
            }
        }
    }

    /// Stock's defaults: "deferred, defer", depth 1.
    public static let stockDefault = QueueHashing(validNames: ["deferred", "defer"], depth: 1)

    /// `names` as main.cf writes hash_queue_names (split on commas and white
    /// space); `depth` must be >= 1 (stock refuses smaller values).
    public init(hashQueueNames names: String, depth: Int) throws(SettingError) {
        guard depth >= 1 else { throw .badDepth(depth) }
        let separators: Set<UInt8> = [0x2C, 0x20, 0x09, 0x0D, 0x0A]
        hashedQueues = names.utf8.split(whereSeparator: { separators.contains($0) })
            .map { String(decoding: $0, as: UTF8.self) }
        self.depth = depth
    }

    private init(validNames: [String], depth: Int) {
        hashedQueues = validNames
        self.depth = depth
    }

    public func isHashed(_ queue: QueueName) -> Bool {
        hashedQueues.contains { QueueHashing.equalIgnoringASCIICase($0, queue.text) }
    }

    /// The directory of `id` in `queue`, with a trailing slash: "deferred/E/".
    public func directory(of id: QueueID, in queue: QueueName) -> String {
        guard isHashed(queue) else { return queue.text + "/" }
        let key = Array(id.hashKey.utf8)
        var path = queue.text + "/"
        for level in 0..<depth {
            let c = level < key.count ? key[level] : UInt8(ascii: "_")
            path += String(decoding: [c, UInt8(ascii: "/")], as: UTF8.self)
        }
        return path
    }

    /// The path of `id` in `queue`, relative to queue_directory: "deferred/E/E6612F785C9".
    public func path(of id: QueueID, in queue: QueueName) -> String {
        directory(of: id, in: queue) + id.text
    }

    static func equalIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { lower($0) == lower($1) }
    }

    private static func lower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c }
}
