// QueueDirectoryWalk: one pass over a queue directory, one name at a time,
// as stock's queue scanners walk it: entries named by exactly one byte are
// hashed subdirectories and are descended into (depth first, in readdir
// order, without a stat per entry); every other name except "." and ".." is
// returned as a queue file name. The end of each directory is reported too,
// so that a caller keeping per-directory state knows the listing is complete.
//
// Guarantees: at most one open directory stream per level; every stream is
// closed when the walk ends or the value is released; a directory that
// cannot be opened (stock: fatal) is a thrown QueueStoreError.
#if canImport(Glibc)
import DirectoryEntries
import Glibc
#endif

final class QueueDirectoryWalk {
    enum Event: Equatable {
        /// A queue file name found in `directory` (relative to queue_directory).
        case name(String, directory: String)
        /// Every entry of `directory` has been returned.
        case finished(directory: String)
    }

    private let root: String
    private var stack: [(path: String, stream: OpaquePointer)] = []

    /// Opens `queue` (relative to `root`).
    init(root: String, queue: String) throws(QueueStoreError) {
        self.root = root
        try push(queue)
    }

    deinit { close() }

    var isFinished: Bool { stack.isEmpty }

    func close() {
        while let top = stack.popLast() { closedir(top.stream) }
    }

    /// The next event; nil when the walk is over. `enter` decides whether a
    /// subdirectory (relative path) is read at all.
    func next(enter: (String) throws(QueueStoreError) -> Bool) throws(QueueStoreError) -> Event? {
        while let top = stack.last {
            errno = 0
            guard let entry = readdir(top.stream) else {
                if errno != 0 { throw QueueStoreError(operation: "read directory", path: root + "/" + top.path, errno: errno) }
                closedir(top.stream)
                stack.removeLast()
                return .finished(directory: top.path)
            }
            let name = DirectoryEntry.name(entry)
            if name == "." || name == ".." { continue }
            if name.utf8.count == 1 {
                let sub = top.path + "/" + name
                if try enter(sub) { try push(sub) }
                continue
            }
            return .name(name, directory: top.path)
        }
        return nil
    }

    private func push(_ relative: String) throws(QueueStoreError) {
        guard let stream = opendir(root + "/" + relative) else {
            throw QueueStoreError(operation: "open directory", path: root + "/" + relative, errno: errno)
        }
        stack.append((relative, stream))
    }
}
