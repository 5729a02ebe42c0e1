// QueueStore: the queue manager's file operations on queue files, by queue
// name and queue ID, under one queue_directory, as stock's mail_queue
// helpers do them:
// - paths follow hash_queue_names/hash_queue_depth (MailQueue's QueueHashing);
// - `status` is the ready test (lstat: a regular file whose owner bits are
//   exactly rwx; 0600 means cleanup has not committed it, 0400 that an agent
//   marked it corrupt);
// - `rename` creates the missing directories of the target (mode 0700) and
//   retries once; a vanished source is reported (false), not thrown;
// - `remove` honours dont_remove (rename into saved/, "+" appended until the
//   name is free);
// - `setTimes` sets atime and mtime together.
// Other system errors, which stock treats as fatal, are thrown as
// QueueStoreError values naming the operation and the path.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public struct QueueStoreError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(operation) \(path): \(SystemError.text(errno))" }
}

/// What the ready test found.
public enum QueueFileStatus: Equatable {
    case missing
    /// A name that is not a queue ID: stock does not even look at it.
    case badName
    /// Not a regular file (stock warns: "<path>: uid N: not a regular file").
    case notRegular(uid: UInt32)
    /// Owner bits other than rwx: being written (0600), or marked corrupt (0400).
    case notReady(mode: UInt32)
    case ready(QueueFileAttributes)
}

public struct QueueFileAttributes: Equatable {
    /// The whole st_mode.
    public var mode: UInt32
    public var modificationTime: Int
    public var changeTime: Int
    public var links: Int
    public var uid: UInt32

    /// Group read: flush(8) asks for delivery now (postqueue -i).
    public var unthrottle: Bool { mode & 0o040 != 0 }
    /// Group execute: postsuper -e/-f asks for expiry.
    public var forceExpire: Bool { mode & 0o010 != 0 }
}

public struct QueueStore {
    /// queue_directory (absolute, or "." when the process works inside it).
    public let root: String
    public let hashing: QueueHashing
    /// dont_remove = yes: removed files are kept in saved/.
    public let dontRemove: Bool

    public init(root: String, hashing: QueueHashing = .stockDefault, dontRemove: Bool = false) {
        self.root = root
        self.hashing = hashing
        self.dontRemove = dontRemove
    }

    /// Relative to queue_directory: "deferred/E/E6612F785C9".
    public func relativePath(of id: QueueID, in queue: QueueName) -> String { hashing.path(of: id, in: queue) }
    public func path(of id: QueueID, in queue: QueueName) -> String { root + "/" + relativePath(of: id, in: queue) }
    public func path(_ relative: String) -> String { root + "/" + relative }
    /// The directory of `id` in `queue`, relative, without a trailing slash: "deferred/E".
    public func directory(of id: QueueID, in queue: QueueName) -> String {
        String(hashing.directory(of: id, in: queue).dropLast())
    }

    /// The ready test (mail_open_ok) of `name` in `queue`; lstat errors
    /// other than ENOENT are thrown.
    public func status(of name: String, in queue: QueueName) throws(QueueStoreError) -> QueueFileStatus {
        guard let id = QueueID(name) else { return .badName }
        let path = path(of: id, in: queue)
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return .missing }
            throw QueueStoreError(operation: "lstat", path: path, errno: errno)
        }
        if st.st_mode & S_IFMT != S_IFREG { return .notRegular(uid: st.st_uid) }
        if st.st_mode & 0o700 != 0o700 { return .notReady(mode: st.st_mode) }
        return .ready(QueueFileAttributes(mode: st.st_mode, modificationTime: Int(st.st_mtim.tv_sec),
                                          changeTime: Int(st.st_ctim.tv_sec), links: Int(st.st_nlink), uid: st.st_uid))
    }

    /// Moves `id` from one queue to another; false when the source is gone.
    @discardableResult
    public func rename(_ id: QueueID, from old: QueueName, to new: QueueName) throws(QueueStoreError) -> Bool {
        let source = path(of: id, in: old), target = path(of: id, in: new)
        if Glibc.rename(source, target) == 0 { return true }
        try makeDirectories(directory(of: target))
        if Glibc.rename(source, target) == 0 { return true }
        if errno == ENOENT { return false }
        throw QueueStoreError(operation: "rename", path: source + " to " + target, errno: errno)
    }

    /// Sets atime and mtime of `id` in `queue` to `seconds`; false when the file is gone.
    @discardableResult
    public func setTimes(_ id: QueueID, in queue: QueueName, to seconds: Int) throws(QueueStoreError) -> Bool {
        let path = path(of: id, in: queue)
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        if utimensat(AT_FDCWD, path, &times, 0) == 0 { return true }
        if errno == ENOENT { return false }
        throw QueueStoreError(operation: "update time stamps of", path: path, errno: errno)
    }

    /// Removes `id` from `queue` (or saves it, with dont_remove); false when it was not there.
    @discardableResult
    public func remove(_ id: QueueID, from queue: QueueName) throws(QueueStoreError) -> Bool {
        let path = path(of: id, in: queue)
        if dontRemove { return try save(path, name: id.text) }
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw QueueStoreError(operation: "remove", path: path, errno: errno)
    }

    /// The size of `id` in `queue` (for bounce/defer logs), nil when it does not exist.
    public func size(of id: QueueID, in queue: QueueName) throws(QueueStoreError) -> Int? {
        let path = path(of: id, in: queue)
        var st = stat()
        if stat(path, &st) == 0 { return Int(st.st_size) }
        if errno == ENOENT { return nil }
        throw QueueStoreError(operation: "stat", path: path, errno: errno)
    }

    // MARK: helpers

    private func save(_ path: String, name: String) throws(QueueStoreError) -> Bool {
        try makeDirectories(root + "/" + QueueName.saved.text)
        var target = root + "/" + QueueName.saved.text + "/" + name
        while exists(target) { target += "+" }
        if Glibc.rename(path, target) == 0 { return true }
        if errno == ENOENT { return false }
        throw QueueStoreError(operation: "rename", path: path + " to " + target, errno: errno)
    }

    private func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    private func directory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return String(path[..<slash])
    }

    /// mkdir -p with mode 0700 for what is missing.
    func makeDirectories(_ path: String) throws(QueueStoreError) {
        if exists(path) { return }
        let parent = directory(of: path)
        if parent != path && !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw QueueStoreError(operation: "create directory", path: path, errno: errno)
        }
    }
}
