// QueueCensus.swift - message counts and arrival-age histograms of the mail
// queues (incoming, active, deferred, hold, maildrop) without reading every
// queue file on each scrape.
//
// How: each queue directory (and each hashed subdirectory below it) is kept
// with its mtime, its subdirectories and the arrival times of its files. A
// scrape stats every directory and re-lists only one whose mtime changed
// (adding, removing or renaming an entry changes it), or whose mtime is
// within `racySeconds` of now (a change in the same clock tick would not
// show). A file's arrival time comes from its queue file's time record,
// read once per queue ID and remembered across queues (a message moving
// from incoming to active to deferred is read once); a file that cannot be
// read (maildrop files belong to their submitter) counts with its mtime.
// Not the deferred queue's mtime: qmgr sets it to the next retry time.
// Guarantees: memory proportional to the queue (names and times only);
// walks at most `maxDepth` directory levels; a directory that vanishes
// between scrapes is dropped; the histogram's sum is in seconds of age.
import DirectoryEntries
import Glibc

final class QueueCensus {
    static let queues = ["incoming", "active", "deferred", "hold", "maildrop"]
    /// Age bucket bounds in seconds: 1 minute to 1 week.
    static let bounds: [Double] = [60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400]
    static let racySeconds = 2.0
    static let maxDepth = 4

    private struct Directory {
        var mtime: timespec
        var subdirectories: [String]
        var arrivals: [Double]
        var names: [String]
    }

    private var directories: [String: Directory] = [:]
    /// Queue ID -> arrival time, for files seen in the last census.
    private var arrivals: [String: Double] = [:]
    /// Work done, for the self-metrics (and the tests of the caching).
    private(set) var relisted = 0
    private(set) var headersRead = 0

    struct QueueCount {
        let queue: String
        var messages = 0
        var counts = [Int](repeating: 0, count: QueueCensus.bounds.count)
        var overflow = 0
        var ageSum = 0.0
    }

    func census(now: Double) -> [QueueCount] {
        var results: [QueueCount] = []
        var changed = false
        for queue in Self.queues {
            var count = QueueCount(queue: queue)
            walk(queue, depth: 0, now: now, count: &count, changed: &changed)
            results.append(count)
        }
        // Forget arrival times of files no longer queued anywhere, only when
        // something changed (otherwise the map is already exact).
        if changed {
            var kept: [String: Double] = [:]
            for directory in directories.values {
                for (name, arrival) in zip(directory.names, directory.arrivals) { kept[name] = arrival }
            }
            arrivals = kept
        }
        return results
    }

    private func walk(_ path: String, depth: Int, now: Double, count: inout QueueCount, changed: inout Bool) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            if directories.removeValue(forKey: path) != nil { changed = true }
            return
        }
        var directory: Directory
        if let cached = directories[path], cached.mtime.tv_sec == info.st_mtim.tv_sec,
           cached.mtime.tv_nsec == info.st_mtim.tv_nsec, Double(info.st_mtim.tv_sec) < now - Self.racySeconds {
            directory = cached
        } else {
            directory = list(path, mtime: info.st_mtim, depth: depth)
            directories[path] = directory
            changed = true
        }
        for arrival in directory.arrivals {
            let age = max(0, now - arrival)
            count.messages += 1
            count.ageSum += age
            if let bucket = Self.bounds.firstIndex(where: { age <= $0 }) { count.counts[bucket] += 1 } else { count.overflow += 1 }
        }
        guard depth < Self.maxDepth else { return }
        for name in directory.subdirectories {
            walk(path + "/" + name, depth: depth + 1, now: now, count: &count, changed: &changed)
        }
    }

    private func list(_ path: String, mtime: timespec, depth: Int) -> Directory {
        var result = Directory(mtime: mtime, subdirectories: [], arrivals: [], names: [])
        guard let stream = opendir(path) else { return result }
        defer { closedir(stream) }
        relisted += 1
        while let entry = readdir(stream) {
            let name = DirectoryEntry.name(entry)
            if name.hasPrefix(".") { continue }
            var type = entry.pointee.d_type
            var info = stat()
            if type == UInt8(DT_UNKNOWN) {
                guard lstat(path + "/" + name, &info) == 0 else { continue }
                type = (info.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : (info.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : 0
            }
            if type == UInt8(DT_DIR) {
                result.subdirectories.append(name)
            } else if type == UInt8(DT_REG) {
                result.names.append(name)
                result.arrivals.append(arrival(of: path + "/" + name, name: name))
            }
        }
        result.subdirectories.sort()
        return result
    }

    /// The remembered arrival time, else the time record, else the mtime.
    private func arrival(of path: String, name: String) -> Double {
        if let known = arrivals[name] { return known }
        headersRead += 1
        let time = QueueFileHeader.arrival(path) ?? {
            var info = stat()
            return stat(path, &info) == 0 ? Double(info.st_mtim.tv_sec) : wallSeconds()
        }()
        arrivals[name] = time
        return time
    }

    func families(now: Double) -> [MetricFamily] {
        var messages = MetricFamily("mailhost_queue_messages", .gauge, "Queue files in the queue.")
        var ages = MetricFamily("mailhost_queue_message_age_seconds", .gaugeHistogram,
                                "Ages of the queued messages since their arrival.")
        for count in census(now: now) {
            let labels: Labels = [("queue", count.queue)]
            messages.add(labels, Double(count.messages))
            ages.addHistogram(labels, bounds: Self.bounds, counts: count.counts, overflow: count.overflow, sum: count.ageSum.rounded())
        }
        var relistedFamily = MetricFamily("mailhost_metrics_queue_directories_listed", .counter,
                                          "Queue directories the metrics service listed because they changed.")
        relistedFamily.add([], Double(relisted))
        var headers = MetricFamily("mailhost_metrics_queue_files_read", .counter,
                                   "Queue files whose arrival time the metrics service read (once per queue ID).")
        headers.add([], Double(headersRead))
        return [messages, ages, relistedFamily, headers]
    }
}

/// The arrival time in a queue file's time record: the first records are
/// the size record ('C') and the time record ('T', "seconds microseconds"),
/// each a type byte, a base-128 length (low bits first, 0x80: more) and data.
enum QueueFileHeader {
    static func arrival(_ path: String) -> Double? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return arrival(Array(buffer[0..<count]))
    }

    static func arrival(_ bytes: [UInt8]) -> Double? {
        var offset = 0
        for _ in 0..<3 {
            guard offset < bytes.count else { return nil }
            let type = bytes[offset]
            offset += 1
            var length = 0, shift = 0
            while offset < bytes.count, shift < 28 {
                let byte = bytes[offset]
                offset += 1
                length |= Int(byte & 0x7f) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            guard length >= 0, offset + length <= bytes.count else { return nil }
            let data = bytes[offset..<(offset + length)]
            offset += length
            if type == UInt8(ascii: "T") {
                let seconds = data.prefix { $0 != UInt8(ascii: " ") }
                return Int(String(decoding: seconds, as: UTF8.self)).map(Double.init)
            }
        }
        return nil
    }
}
