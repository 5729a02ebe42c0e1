// ActiveQueueFile: a queue file in the active queue opened read-write, as
// the queue manager opens it to read an envelope batch or to mark records:
// the first load of a message also takes an exclusive, non-blocking flock
// (a delivery agent of a previous queue manager still holding its shared
// lock makes that fail: the file is "still being delivered"); the lock
// lives only while the file is open, and the file is closed right after the
// batch is read, so no lock is held while agents deliver.
// Guarantees: the descriptor is closed exactly once (close() or release).
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public final class ActiveQueueFile {
    public enum OpenResult {
        case opened(ActiveQueueFile)
        /// The exclusive lock is held by someone else.
        case locked
        /// The file is gone (stock warns: "open active <id>: No such file or directory").
        case missing(warning: String)
    }

    public let id: QueueID
    /// Path relative to queue_directory, the name used in error values.
    public let name: String
    public private(set) var descriptor: Int32

    private init(id: QueueID, name: String, descriptor: Int32) {
        self.id = id
        self.name = name
        self.descriptor = descriptor
    }

    deinit { close() }

    /// Opens `id` in active; `lock`: take the exclusive non-blocking lock.
    public static func open(_ id: QueueID, in store: QueueStore, lock: Bool) throws(QueueStoreError) -> OpenResult {
        let path = store.path(of: id, in: .active)
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .missing(warning: "open \(QueueName.active) \(id): \(SystemError.text(ENOENT))") }
            throw QueueStoreError(operation: "open", path: path, errno: errno)
        }
        let file = ActiveQueueFile(id: id, name: store.relativePath(of: id, in: .active), descriptor: fd)
        if lock && SystemError.retrying({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            let e = errno
            file.close()
            if e == EWOULDBLOCK || e == EAGAIN { return .locked }
            throw QueueStoreError(operation: "lock", path: path, errno: e)
        }
        return .opened(file)
    }

    /// A record reader over the file's bytes as they are now.
    public func reader() throws(QueueFileError) -> RecordReader {
        RecordReader(try QueueFileBytes(descriptor: descriptor, name: name))
    }

    /// In-place edits (done-marking, W and K records).
    public var editor: QueueFileEditor { QueueFileEditor(descriptor: descriptor, name: name) }

    public func setMode(_ mode: UInt32) throws(QueueStoreError) {
        if fchmod(descriptor, mode) != 0 { throw QueueStoreError(operation: "fchmod", path: name, errno: errno) }
    }

    public func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
