// FlushLogs.swift - the per-destination fast-flush logs under flush/ and
// what stock flush(8) does with them:
// - add: append "<queue id>\n" to the site's log (created mode 0600),
//   under an exclusive flock(2), as stock's internal lock;
// - send: under that lock, for every queue ID in the log (bad ones warned
//   about and skipped, duplicates skipped, up to 10,000 remembered), set the
//   queue file's times to now and move it from deferred to incoming; then
//   truncate the log if it had any line, set its times to now (its atime
//   says when it was last read), and trigger the queue manager's incoming
//   scan if anything was read. A site request (ETRN, postqueue -s) first
//   asks the queue manager to forget dead destinations ("F");
// - send one file (postqueue -i): the same for one queue ID, and the file
//   gets the group-read bit that asks the queue manager to unthrottle its
//   destinations when it reads the file;
// - refresh: every log unread for longer than the refresh time (0 for a
//   purge) is sent without "F"; every empty log unchanged for longer than
//   fast_flush_purge_time is removed.
// Guarantees: a log is never truncated without being read to the end under
// the lock; a queue file is only ever renamed within the queue (never
// removed or rewritten); what stock treats as fatal (a log that cannot be
// opened, locked or truncated) ends the process with stock's text.
#if canImport(Glibc)
import DirectoryEntries
import Glibc
#endif
import MailQueue
import PluginAPI

struct FlushLogs {
    let host: ServiceHost
    let settings: FlushSettings

    /// How a send treats the queue manager's knowledge of dead sites.
    enum Unthrottle {
        case refreshOnly, before, after
    }

    static let duplicateFilterSize = 10000

    private var hashing: QueueHashing { settings.hashing }

    // MARK: add

    func add(log name: QueueID, queueID: QueueID) -> FlushStatus {
        let path = hashing.path(of: name, in: .flush)
        let fd = openLog(path, flags: O_CREAT | O_APPEND | O_WRONLY)
        guard fd >= 0 else { host.fatal("flush_add_path: open fast flush logfile \(name): \(SystemError.text(errno))") }
        defer { close(fd) }
        lock(fd, LOCK_EX, "flush_add_path: lock fast flush logfile \(name)")
        let line = Array((queueID.text + "\n").utf8)
        if write(fd, line, line.count) != line.count {
            host.warning("write fast flush logfile \(name): \(SystemError.text(errno))")
        }
        lock(fd, LOCK_UN, "flush_add_path: unlock fast flush logfile \(name)")
        return .ok
    }

    // MARK: send

    func send(log name: QueueID, how: Unthrottle) -> FlushStatus {
        let path = hashing.path(of: name, in: .flush)
        let fd = openLog(path, flags: O_RDWR)
        if fd < 0 {
            if errno == ENOENT { return .ok }
            host.fatal("flush_send_path: open fast flush logfile \(name): \(SystemError.text(errno))")
        }
        defer { close(fd) }
        lock(fd, LOCK_EX, "flush_send_path: lock fast flush logfile \(name)")
        if how == .before { trigger("F") }
        let now = time(nil)
        var seen = Set<String>()
        var count = 0
        for line in readLines(fd) {
            count += 1
            guard let id = QueueID(String(decoding: line, as: UTF8.self)) else {
                let shown = String(decoding: line.prefix(30), as: UTF8.self)
                host.warning("bad queue id \"\(shown)...\" in fast flush logfile \(name)")
                continue
            }
            if seen.count >= Self.duplicateFilterSize || !seen.contains(id.text) {
                if seen.count <= Self.duplicateFilterSize { seen.insert(id.text) }
                if moveToIncoming(id, at: now, how: how) { count += 1 }
            }
        }
        if count > 0 && ftruncate(fd, 0) < 0 {
            host.fatal("flush_send_path: truncate fast flush logfile \(name): \(SystemError.text(errno))")
        }
        _ = utimes(path, nil)
        lock(fd, LOCK_UN, "flush_send_path: unlock fast flush logfile \(name)")
        if count > 0 { trigger("I") }
        return .ok
    }

    func sendFile(_ id: QueueID) -> FlushStatus {
        if moveToIncoming(id, at: time(nil), how: .after) { trigger("I") }
        return .ok
    }

    /// Stock's flush_one_file: false when the file is in neither deferred
    /// nor incoming (already delivered, or taken by the queue manager).
    private func moveToIncoming(_ id: QueueID, at now: time_t, how: Unthrottle) -> Bool {
        var queue = QueueName.deferred
        var path = hashing.path(of: id, in: queue)
        var times = utimbuf(actime: now, modtime: now)
        while utime(path, &times) != 0 {
            if errno != ENOENT { host.warning("flush_one_file: update \(path) time stamps: \(SystemError.text(errno))") }
            if queue == .incoming { return false }
            queue = .incoming
            path = hashing.path(of: id, in: queue)
        }
        if how == .after {
            guard let ready = markUnthrottle(id, queue: &queue, path: &path) else { return false }
            if !ready { return false }
        }
        if queue != .incoming {
            let target = hashing.path(of: id, in: .incoming)
            if rename(path, target) != 0 && !(errno == ENOENT && makeDirectories(for: target) && rename(path, target) == 0) {
                if errno != ENOENT {
                    host.warning("\(path): rename from \(queue) to incoming: \(SystemError.text(errno))")
                }
            }
        }
        return true
    }

    /// The group-read bit on a complete queue file (mode 0700 present),
    /// following the file into incoming if it moved. nil: not found or not
    /// openable; false: still being written.
    private func markUnthrottle(_ id: QueueID, queue: inout QueueName, path: inout String) -> Bool? {
        var fd: Int32
        while true {
            fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 { break }
            if errno != ENOENT { host.warning("flush_one_file: open \(path): \(SystemError.text(errno))") }
            if errno != ENOENT || queue == .incoming { return nil }
            queue = .incoming
            path = hashing.path(of: id, in: queue)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_nlink == 1 else {
            host.warning("flush_one_file: open \(path): not a regular file")
            return nil
        }
        guard st.st_mode & S_IRWXU == S_IRWXU else { return false }
        if fchmod(fd, (st.st_mode & 0o7777) | S_IRGRP) < 0 {
            host.warning("flush_one_file: fchmod \(path): \(SystemError.text(errno))")
        }
        return true
    }

    // MARK: refresh

    /// Sends logs unread for more than `maxAge` seconds and removes empty
    /// ones unchanged for more than fast_flush_purge_time.
    func refresh(maxAge: Int64) -> FlushStatus {
        let now = Int64(time(nil))
        for name in logNames() {
            let path = hashing.path(of: name, in: .flush)
            var st = stat()
            if stat(path, &st) < 0 {
                if errno != ENOENT { host.warning("flush_refresh_service: stat \(path): \(SystemError.text(errno))") }
                continue
            }
            if st.st_size == 0 {
                if Int64(st.st_mtim.tv_sec) + settings.purgeTime < now, unlink(path) < 0 {
                    host.warning("remove logfile \(path): \(SystemError.text(errno))")
                }
            } else if Int64(st.st_atim.tv_sec) + maxAge < now {
                _ = send(log: name, how: .refreshOnly)
            }
        }
        return .ok
    }

    /// Names under flush/ (and its one-character hash subdirectories) that
    /// are valid log names.
    private func logNames() -> [QueueID] {
        var out: [QueueID] = []
        var pending = ["flush"]
        while let dir = pending.popLast() {
            guard let stream = opendir(dir) else {
                if errno != ENOENT { host.warning("open directory \(dir): \(SystemError.text(errno))") }
                continue
            }
            while let entry = readdir(stream) {
                let name = DirectoryEntry.name(entry)
                if name == "." || name == ".." { continue }
                if name.utf8.count == 1 && entry.pointee.d_type == UInt8(DT_DIR) {
                    pending.append(dir + "/" + name)
                } else if let id = QueueID(name) {
                    out.append(id)
                }
            }
            closedir(stream)
        }
        return out
    }

    // MARK: helpers

    private func openLog(_ path: String, flags: Int32) -> Int32 {
        let fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 && errno == ENOENT && flags & O_CREAT != 0 && makeDirectories(for: path) {
            return open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        return fd
    }

    /// The missing directories of a hashed path (mode 0700), as mail_queue_mkdirs.
    private func makeDirectories(for path: String) -> Bool {
        var parts = path.split(separator: "/").dropLast()
        var prefix = ""
        while !parts.isEmpty {
            prefix += (prefix.isEmpty ? "" : "/") + parts.removeFirst()
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    private func lock(_ fd: Int32, _ operation: Int32, _ what: String) {
        while flock(fd, operation) < 0 {
            if errno == EINTR { continue }
            host.fatal("\(what): \(SystemError.text(errno))")
        }
    }

    private func readLines(_ fd: Int32) -> [[UInt8]] {
        var content: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            content.append(contentsOf: buffer[0..<n])
        }
        var lines = content.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    private func trigger(_ request: Character) {
        do {
            try host.sendTrigger(service: settings.queueManager, data: Array(String(request).utf8))
        } catch {
            host.warning("\(error)")
        }
    }
}
