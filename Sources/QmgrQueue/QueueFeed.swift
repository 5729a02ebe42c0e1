// QueueFeed: what happens to one name a scan returned, as stock's
// qmgr_active_feed decides it: the ready test (a file still being written,
// mode 0600, or marked corrupt, 0400, is left where it is); a file whose
// mtime (next retry time) is more than a second ahead stays put unless the
// pass ignores time stamps; anything else is renamed into active, and the
// message's flags are the pass's flags plus what the file's group bits ask
// (g+r: flushEach and flushDeferredTransports, a mode without g+r to restore
// once the envelope is read; g+x: forceExpire).
// A name that vanished is not an error; stock's warnings come back as text
// for the caller to log. With the scan's DeferredIndex, the times seen here
// are remembered and files that leave are forgotten.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

/// A file moved into active and about to be loaded.
public struct ActiveCandidate: Equatable, Sendable {
    public let id: QueueID
    /// The queue it came from.
    public let origin: QueueName
    /// The message's flags (stock's qflags).
    public let flags: ScanFlags
    /// The mode to set after a successful envelope read (g+r cleared), nil: leave it.
    public let modeAfterLoad: UInt32?

    public init(id: QueueID, origin: QueueName, flags: ScanFlags, modeAfterLoad: UInt32? = nil) {
        self.id = id
        self.origin = origin
        self.flags = flags
        self.modeAfterLoad = modeAfterLoad
    }
}

public struct FeedResult: Equatable {
    public enum Disposition: Equatable {
        case moved(ActiveCandidate)
        /// Not committed yet, marked corrupt, not a regular file, or not a queue ID.
        case notReady
        /// Its time has not come (mtime, seconds).
        case notDue(until: Int)
        /// Gone before it could be moved.
        case gone
    }

    public var disposition: Disposition
    /// A stock warning to log (without "warning: "), if any.
    public var warning: String?
}

extension QueueScan {
    /// Feeds `id`, which this scan's `next()` returned, towards the active queue.
    public func feed(_ id: QueueID) throws(QueueStoreError) -> FeedResult {
        let relative = store.relativePath(of: id, in: queue)
        let directory = store.directory(of: id, in: queue)
        func leaving(_ d: FeedResult.Disposition, _ warning: String? = nil) -> FeedResult {
            index?.forget(id.text, directory: directory)
            return FeedResult(disposition: d, warning: warning)
        }
        let attributes: QueueFileAttributes
        switch try store.status(of: id.text, in: queue) {
        case .missing, .badName: return leaving(.gone)
        case .notReady: return leaving(.notReady)
        case .notRegular(let uid): return leaving(.notReady, "\(relative): uid \(uid): not a regular file")
        case .ready(let a): attributes = a
        }
        let now = clock()
        var warning: String?
        if attributes.links > 1 && attributes.changeTime < now - 60 {
            warning = "\(relative): uid \(attributes.uid): file has \(attributes.links) links"
        }
        if !flags.contains(.scanAll) && attributes.modificationTime > now + 1 {
            index?.record(id.text, due: attributes.modificationTime, directory: directory)
            return FeedResult(disposition: .notDue(until: attributes.modificationTime), warning: warning)
        }
        guard try store.rename(id, from: queue, to: .active) else {
            return leaving(.gone, "qmgr_active_feed: \(id): rename from \(queue) to \(QueueName.active): "
                                  + SystemError.text(ENOENT))
        }
        var messageFlags = flags
        var modeAfterLoad: UInt32?
        if attributes.unthrottle {
            messageFlags.formUnion([.flushEach, .flushDeferredTransports])
            modeAfterLoad = attributes.mode & ~0o040 & 0o7777
        }
        if attributes.forceExpire { messageFlags.insert(.forceExpire) }
        let candidate = ActiveCandidate(id: id, origin: queue, flags: messageFlags, modeAfterLoad: modeAfterLoad)
        return leaving(.moved(candidate), warning)
    }
}
