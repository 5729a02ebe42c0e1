// QueryInterface.swift - the qmgr's root-only query interface (QmgrQuery)
// wired into the plugin: PRE_INIT, still root, makes pid/qmgr.query (mode
// 0600, root's) and keeps the listening descriptor; INIT serves on it from
// the host's event loop, each client getting the scheduler's snapshot as
// QueryDocument's JSON (`postfix status queues` reads it). The same
// document is served on pid/qmgr.metrics, owned by mail_owner (mode 0600),
// for the metrics plugin, which runs as mail_owner: as the master's
// pid/master.metrics beside pid/master.status, no other local user can
// connect to either.
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
    static let metricsPath = "pid/qmgr.metrics"

    /// A listener made in PRE_INIT, for INIT (the instance does not exist yet then).
    private struct Endpoint {
        let fd: Int32
        let path: String
        let limits: QueryLimits
    }
    nonisolated(unsafe) private static var endpoints: [Endpoint] = []

    /// PRE_INIT: makes the sockets (relative to the queue directory, the
    /// worker's working directory) while the process is still root.
    static func listen(host: ServiceHost) {
        do {
            endpoints.append(Endpoint(fd: try QuerySocket.listen(), path: QuerySocket.relativePath, limits: QueryLimits()))
        } catch {
            host.warning("query interface disabled: \(error)")
        }
        let owner = host.string("mail_owner", default: "postfix")
        guard let account = getpwnam(owner) else {
            host.warning("query interface disabled: \(metricsPath): unknown mail_owner \(owner)")
            return
        }
        let uid = account.pointee.pw_uid, gid = account.pointee.pw_gid
        do {
            let fd = try QuerySocket.listen(path: metricsPath)
            guard chown(metricsPath, uid, gid) == 0 else {
                host.warning("query interface disabled: \(metricsPath): chown: \(String(cString: strerror(errno)))")
                close(fd)
                return
            }
            endpoints.append(Endpoint(fd: fd, path: metricsPath, limits: QueryLimits(peerUIDs: [0, uid])))
        } catch {
            host.warning("query interface disabled: \(error)")
        }
    }

    /// INIT: serves `scheduler`'s state on the PRE_INIT listeners, if any.
    static func serve(_ scheduler: Scheduler, host: ServiceHost) -> [QueryServer] {
        defer { endpoints = [] }
        return endpoints.compactMap { endpoint in
            let server = QueryServer(listener: endpoint.fd, loop: loop(host), limits: endpoint.limits,
                                     label: endpoint.path, warn: { host.warning($0) }) {
                let now = Clock.now()
                return QueryDocument.json(scheduler.snapshot(now: now), schedulerNow: now, unixNow: wallClock())
            }
            do {
                try server.start()
            } catch {
                host.warning("query interface disabled: \(endpoint.path): \(error)")
                close(endpoint.fd)
                return nil
            }
            return server
        }
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
