// DeferredIndex: what a deferred-queue scan remembers between passes so that
// a large deferred queue with nothing due costs one stat per hashed
// subdirectory instead of one lstat per file (stock stats every file on
// every pass, every queue_run_delay).
//
// What it keeps, per directory (relative path, e.g. "deferred/E"): each
// ready file's next retry time (its mtime, learned from the scan's own lstat
// or from the queue manager when it defers a message), the earliest of
// those times, and the directory's mtime (with nanoseconds) taken just
// before the last complete listing.
//
// Guarantees:
// - a directory is skipped without being read only when its mtime equals
//   the one recorded before its last complete listing (no file was added,
//   removed or renamed since), that mtime is older than `settleTime` (so a
//   change within the file system's time-stamp granularity cannot hide
//   behind an equal mtime), every file in it is remembered, and the
//   earliest retry time is still in the future (stock's test: mtime >
//   now + 1);
// - a file whose retry time is remembered and not due is not stat'ed;
// - everything is forgotten on `invalidate()` (a flush request) and after
//   `revalidationInterval` seconds, so that a retry time changed behind the
//   queue manager's back (touch(1) on a deferred file, which changes no
//   directory) is seen within that interval;
// - at most `capacity` files are remembered; a directory that does not
//   fit is scanned as stock scans it (it is never skipped), so memory is
//   bounded and nothing is lost when the bound is hit.
#if canImport(Glibc)
import Glibc
#endif

public final class DeferredIndex {
    public struct Settings: Sendable {
        /// Most files remembered (measured: about 65 bytes each with short queue IDs).
        public var capacity: Int
        /// Seconds after which every remembered time is checked again.
        public var revalidationInterval: Int
        /// A directory changed less than this many seconds ago is listed again next time.
        public var settleTime: Int

        public init(capacity: Int = 200_000, revalidationInterval: Int = 3600, settleTime: Int = 2) {
            self.capacity = capacity
            self.revalidationInterval = revalidationInterval
            self.settleTime = settleTime
        }
    }

    struct Timestamp: Equatable {
        var seconds: Int
        var nanoseconds: Int
    }

    /// A class, so that the per-file updates change it in place.
    final class Directory {
        /// Directory mtime before the last complete listing; nil: list it again.
        var listedAt: Timestamp?
        var files: [String: Int] = [:]
        /// No later than the earliest retry time in `files` (may be earlier after a forget).
        var earliestDue = Int.max
        /// Every ready file of the last listing is in `files`.
        var complete = true
        /// The listing in progress: the files it has seen, and the mtime before it began.
        var listing: [String: Int]?
        var listingStartedAt: Timestamp?
        var listingComplete = true
    }

    public let settings: Settings
    private var directories: [String: Directory] = [:]
    /// Files remembered, in `files` and in listings.
    public private(set) var count = 0
    private var validatedAt: Int?
    /// Directories skipped and files not stat'ed thanks to the index (for tests and reports).
    public private(set) var directoriesSkipped = 0
    public private(set) var filesNotStatted = 0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Forgets everything (a flush request, or a revalidation).
    public func invalidate() {
        directories = [:]
        count = 0
        validatedAt = nil
    }

    /// The queue manager deferred `name` until `due` into `directory`
    /// (relative to queue_directory, e.g. "deferred/E"); called through
    /// QueueScan.learnDeferred when the qmgr plugin's completion defers a message.
    public func learn(_ name: String, due: Int, directory: String) {
        record(name, due: due, directory: directory)
    }

    /// `name` left `directory` (moved to active, removed, found not ready).
    public func forget(_ name: String, directory: String) {
        guard let d = directories[directory] else { return }
        if d.listing?.removeValue(forKey: name) != nil { count -= 1 }
        if d.files.removeValue(forKey: name) != nil { count -= 1 }
    }

    // MARK: the scan's side

    /// Start of a pass at `now`: everything is forgotten when the last full
    /// check is older than the revalidation interval.
    func beginPass(now: Int) {
        if let at = validatedAt, now - at < settings.revalidationInterval { return }
        invalidate()
        validatedAt = now
    }

    /// Whether the scan must read `directory` (whose mtime is `mtime`); when
    /// it must, a listing begins.
    func mustRead(_ directory: String, mtime: Timestamp, now: Int, scanAll: Bool) -> Bool {
        let d = entry(for: directory)
        if !scanAll, d.complete, d.listing == nil, let listed = d.listedAt, listed == mtime,
           now - mtime.seconds >= settings.settleTime, d.earliestDue > now + 1 {
            directoriesSkipped += 1
            filesNotStatted += d.files.count
            return false
        }
        d.mergeListing()
        d.listing = [:]
        d.listingStartedAt = mtime
        d.listingComplete = true
        return true
    }

    /// The retry time remembered for `name`, carried into the listing in
    /// progress (nil: unknown, the scan must look at the file).
    func rememberedDue(_ name: String, directory: String) -> Int? {
        guard let d = directories[directory] else { return nil }
        if let due = d.listing?[name] { return due }
        guard let due = d.files[name] else { return nil }
        if d.listing != nil {
            d.files.removeValue(forKey: name)
            d.listing?[name] = due
        }
        return due
    }

    /// A ready file in `directory` not due before `due`.
    func record(_ name: String, due: Int, directory: String) {
        let d = entry(for: directory)
        let known = d.files[name] != nil || d.listing?[name] != nil
        if !known && count >= settings.capacity {
            if d.listing != nil { d.listingComplete = false } else { d.complete = false }
            return
        }
        if !known { count += 1 }
        if d.listing != nil {
            d.files.removeValue(forKey: name)
            d.listing?[name] = due
        } else {
            d.files[name] = due
            d.earliestDue = min(d.earliestDue, due)
            // Learned outside a listing: the directory has changed, read it again.
            d.listedAt = nil
        }
    }

    /// The listing of `directory` is complete: what it did not see is gone.
    func finishListing(_ directory: String, now: Int) {
        guard let d = directories[directory], let seen = d.listing else { return }
        count -= d.files.count
        d.files = seen
        d.earliestDue = seen.values.min() ?? Int.max
        d.complete = d.listingComplete
        if let started = d.listingStartedAt, now - started.seconds >= settings.settleTime {
            d.listedAt = started
        } else {
            d.listedAt = nil
        }
        d.listing = nil
        d.listingStartedAt = nil
    }

    /// A pass that ends early (a restart) leaves its listings unfinished:
    /// what they saw stays remembered, and the directories are read again.
    func abandonListings() {
        for d in directories.values { d.mergeListing() }
    }

    private func entry(for path: String) -> Directory {
        if let d = directories[path] { return d }
        let d = Directory()
        directories[path] = d
        return d
    }

    /// The mtime of a directory, nil when it cannot be stat'ed.
    static func mtime(of path: String) -> Timestamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Timestamp(seconds: Int(st.st_mtim.tv_sec), nanoseconds: Int(st.st_mtim.tv_nsec))
    }
}

extension DeferredIndex.Directory {
    /// Moves an unfinished listing back into `files`; the directory must be read again.
    func mergeListing() {
        guard let seen = listing else { return }
        for (name, due) in seen {
            files[name] = due
            earliestDue = min(earliestDue, due)
        }
        complete = complete && listingComplete
        listing = nil
        listingStartedAt = nil
        listedAt = nil
    }
}
