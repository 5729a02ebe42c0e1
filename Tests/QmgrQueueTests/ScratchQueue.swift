// ScratchQueue.swift - a queue directory in a temporary directory for the
// tests that need no Postfix: files made with a given mode and mtime at
// their hashed paths, read back with stat(2).
import Foundation
import Glibc
import MailQueue
@testable import QmgrQueue

final class ScratchQueue {
    let root: String
    let store: QueueStore

    init(hashing: QueueHashing = .stockDefault) throws {
        var template = Array("/tmp/qmgrqueue-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ScratchError("mkdtemp: \(errno)") }
        root = String(cString: made)
        store = QueueStore(root: root, hashing: hashing)
        for q in ["incoming", "active", "deferred", "corrupt", "hold", "defer"] {
            guard mkdir(root + "/" + q, 0o700) == 0 else { throw ScratchError("mkdir \(q): \(errno)") }
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// A file `id` in `queue` with `bytes`, `mode` and mtime/atime `mtime`.
    @discardableResult
    func put(_ id: String, in queue: QueueName, bytes: [UInt8] = Array("x".utf8), mode: mode_t = 0o700,
             mtime: Int? = nil) throws -> QueueID {
        guard let qid = QueueID(id) else { throw ScratchError("bad id \(id)") }
        try store.makeDirectories(root + "/" + String(store.hashing.directory(of: qid, in: queue).dropLast()))
        let path = store.path(of: qid, in: queue)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw ScratchError("create \(path)") }
        guard chmod(path, mode) == 0 else { throw ScratchError("chmod \(path): \(errno)") }
        if let mtime { try store.setTimes(qid, in: queue, to: mtime) }
        return qid
    }

    func attributes(_ id: QueueID, in queue: QueueName) -> stat? { fileAttributes(store.path(of: id, in: queue)) }

    func exists(_ id: QueueID, in queue: QueueName) -> Bool { attributes(id, in: queue) != nil }

    /// Every name a scan of `queue` returns, in order, until it ends.
    static func drain(_ scan: QueueScan) throws -> [QueueID] {
        var out: [QueueID] = []
        while let id = try scan.next() { out.append(id) }
        return out
    }
}

struct ScratchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// lstat(2) of `path`, nil when it fails.
func fileAttributes(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

/// Seconds since the epoch.
func now() -> Int { Int(time(nil)) }
