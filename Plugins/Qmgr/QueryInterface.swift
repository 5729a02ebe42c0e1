// QueryInterface.swift - the qmgr's root-only query interface (QmgrQuery)
// wired into the plugin: PRE_INIT, still root, makes pid/qmgr.query (mode
// 0600, root's) and keeps the listening descriptor; INIT serves on it from
// the host's event loop, each client getting the scheduler's snapshot as
// QueryDocument's JSON (`postfix status queues` reads it).
// Guarantees: the interface never stops mail: a socket that cannot be made
// or served is one warning and the qmgr runs without it; serving never
// blocks the loop (QueryServer's guarantees).
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI
import QmgrCore
import QmgrQuery

enum QueryInterface {
    /// The listener made in PRE_INIT, for INIT (the instance does not exist yet then).
    nonisolated(unsafe) private static var listener: Int32?

    /// PRE_INIT: makes the socket (relative to the queue directory, the
    /// worker's working directory) while the process is still root.
    static func listen(host: ServiceHost) {
        do {
            listener = try QuerySocket.listen()
        } catch {
            host.warning("query interface disabled: \(error)")
        }
    }

    /// INIT: serves `scheduler`'s state on the PRE_INIT listener, if any.
    static func serve(_ scheduler: Scheduler, host: ServiceHost) -> QueryServer? {
        guard let fd = listener else { return nil }
        listener = nil
        let server = QueryServer(listener: fd, loop: loop(host), warn: { host.warning($0) }) {
            let now = Clock.now()
            return QueryDocument.json(scheduler.snapshot(now: now), schedulerNow: now, unixNow: wallClock())
        }
        do {
            try server.start()
        } catch {
            host.warning("query interface disabled: \(QuerySocket.relativePath): \(error)")
            close(fd)
            return nil
        }
        return server
    }

    private static func loop(_ host: ServiceHost) -> QueryLoop {
        QueryLoop(
            watch: { fd, writable, handler in try host.watch(fd, for: writable ? .write : .read) { _, _ in handler() } },
            unwatch: { fd in host.unwatch(fd) },
            after: { seconds, handler in
                try host.startTimer(milliseconds: max(1, Int64((seconds * 1000).rounded(.up))), handler)
            })
    }

    private static func wallClock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
