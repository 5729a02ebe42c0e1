// QueueScan: the scan of one queue (incoming or deferred), one queue file
// name per call, with stock qmgr's request and restart semantics:
// - `request` adds flags for the next pass; a start request starts a pass
//   at once when none is running, otherwise the pass restarts as soon as
//   the running one ends; scanAll and flushDeferredTransports also apply
//   to the running pass; the caller acts on flushOnce (it returns true);
// - a pass walks the directory once (hashed subdirectories included) and
//   ends when every name has been returned;
// - names that are not queue IDs are passed over (stock never opens them).
// With a DeferredIndex (deferred queue), names whose remembered retry time
// is not due, and whole unchanged directories with nothing due, are passed
// over without a stat, unless the pass ignores time stamps (scanAll).
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public final class QueueScan {
    public let queue: QueueName
    public let store: QueueStore
    public let index: DeferredIndex?
    /// Flags of the running pass (start excluded).
    public private(set) var flags: ScanFlags = []
    /// Flags waiting for the next pass.
    public private(set) var pendingFlags: ScanFlags = []
    /// Seconds since the epoch; time(2) unless a test says otherwise.
    let clock: () -> Int
    private var walk: QueueDirectoryWalk?

    public init(queue: QueueName, store: QueueStore, index: DeferredIndex? = nil,
                clock: @escaping () -> Int = { Int(time(nil)) }) {
        self.queue = queue
        self.store = store
        self.index = index
        self.clock = clock
    }

    public var isRunning: Bool { walk != nil }

    /// Applies a request; true when it asks to forget dead destinations now.
    @discardableResult
    public func request(_ requested: ScanFlags) throws(QueueStoreError) -> Bool {
        if requested.contains(.flushOnce) { index?.invalidate() }
        if isRunning { flags.formUnion(requested.intersection([.scanAll, .flushDeferredTransports])) }
        pendingFlags.formUnion(requested)
        if !isRunning && requested.contains(.start) {
            try startPass()
        }
        return requested.contains(.flushOnce)
    }

    /// The next queue file name of the running pass (restarting it when a
    /// start request is pending); nil when there is nothing to scan.
    public func next() throws(QueueStoreError) -> QueueID? {
        if let id = try nextOfRunningPass() { return id }
        if pendingFlags.contains(.start) {
            try startPass()
            return try nextOfRunningPass()
        }
        return nil
    }

    /// The queue manager has just moved `id` into this scan's queue with
    /// its next retry time `due` (its mtime): with an index, the next pass
    /// knows it without a stat.
    public func learnDeferred(_ id: QueueID, due: Int) {
        index?.learn(id.text, due: due, directory: store.directory(of: id, in: queue))
    }

    /// Ends the running pass without reading the rest (pending requests stay).
    public func stop() {
        walk?.close()
        walk = nil
        index?.abandonListings()
    }

    private func startPass() throws(QueueStoreError) {
        stop()
        flags = pendingFlags.subtracting(.start)
        pendingFlags = []
        let now = clock()
        index?.beginPass(now: now)
        if let index, let mtime = DeferredIndex.mtime(of: store.path(queue.text)) {
            _ = index.mustRead(queue.text, mtime: mtime, now: now, scanAll: true)
        }
        walk = try QueueDirectoryWalk(root: store.root, queue: queue.text)
    }

    private func nextOfRunningPass() throws(QueueStoreError) -> QueueID? {
        guard let w = walk else { return nil }
        let now = clock()
        let scanAll = flags.contains(.scanAll)
        let enter: (String) throws(QueueStoreError) -> Bool = { [index, store] directory in
            guard let index, let mtime = DeferredIndex.mtime(of: store.path(directory)) else { return true }
            return index.mustRead(directory, mtime: mtime, now: now, scanAll: scanAll)
        }
        while let event = try w.next(enter: enter) {
            switch event {
            case .finished(let directory):
                index?.finishListing(directory, now: now)
            case .name(let name, let directory):
                guard let id = QueueID(name) else { continue }
                if let index, let due = index.rememberedDue(name, directory: directory), !scanAll, due > now + 1 {
                    continue
                }
                return id
            }
        }
        walk = nil
        return nil
    }
}
