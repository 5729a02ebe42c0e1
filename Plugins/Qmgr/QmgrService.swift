// QmgrService.swift - the queue manager as a trigger-model plugin, for
// master.cf's unchanged `qmgr unix n - n 300 1 qmgr` line. INIT does what
// stock qmgr does before its first wakeup: read the settings (a bad value
// ends the process with stock's text), declare the service solitary and
// long-lived, set the watchdog to qmgr_daemon_timeout, move active back to
// incoming (start-up recovery), start the incoming and deferred scans, ask
// for a deferred scan every queue_run_delay, and install the loop hook
// (QmgrEngine) that does the work. Each wakeup's bytes are scan requests.
// PRE_INIT (root, outside any chroot) makes the query sockets that INIT
// then serves (QueryInterface) and reads fast_flush_domains with its local
// tables (FastFlushDomains), as stock's pre-jail initialisation does.
// Guarantees: nothing is delivered before recovery has finished; the
// process never runs with settings stock would refuse.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI
import QmgrCore
import QmgrQuery
import QmgrQueue

final class QmgrService: TriggerServer {
    static let name = "qmgr"
    static let version = "1.0"
    static var requiredCapabilities: Capabilities { [.parameters, .logging, .triggers, .events, .lifecycle] }

    private let engine: QmgrEngine
    private let queryServers: [QueryServer]
    private let tableWatch: TableChangeWatch

    static func preInit(host: ServiceHost) throws {
        QueryInterface.listen(host: host)
        do {
            FastFlushDomains.beforeJail = try FastFlushDomains.read(ParameterLookup(host: host))
        } catch {
            host.fatal("\(error)")
        }
    }

    init(host: ServiceHost) throws {
        let config: Configuration
        do {
            config = try Configuration(ParameterLookup(host: host))
        } catch {
            host.fatal("\(error)")
        }
        for warning in config.settings.warnings { host.warning(warning) }
        tableWatch = config.tableWatch
        try host.declare(solitary: true, longLived: true)
        try host.setWatchdog(seconds: Int64(config.settings.daemonTimeout))

        let store = QueueStore(root: config.queueDirectory, hashing: config.hashing, dontRemove: config.dontRemove)
        Self.recover(store, host: host)
        let scheduler: Scheduler
        do {
            scheduler = try Scheduler(settings: config.settings)
        } catch {
            host.fatal(error.description)
        }
        let resolver = TrivialRewriteClient(queueDirectory: config.queueDirectory, serviceName: config.rewriteService,
                                            timeout: Double(config.settings.ipcTimeout))
        let loadSettings = config.loadSettings { [host, scheduler] transport in
            do {
                return try scheduler.transportSettings(transport.description).recipientLimit
            } catch {
                host.fatal("\(error)")
            }
        }
        let loader = MessageLoader(store: store, resolver: resolver, settings: loadSettings)
        engine = QmgrEngine(host: host, config: config, store: store, loader: loader, scheduler: scheduler)
        engine.trigger(Array("I".utf8))
        engine.runDeferredScans(every: config.settings.queueRunDelay)
        queryServers = QueryInterface.serve(scheduler, host: host)
        try host.setLoopHook { [engine] in engine.iterate() }
    }

    /// Like stock, a wakeup first checks whether a table read at start-up
    /// has changed; if so the process exits, and the master starts a new
    /// one that reads it again (nothing in memory is lost: start-up
    /// recovery puts what was active back into incoming). Stock checks
    /// before it accepts the wakeup, which then waits for its successor and
    /// makes the master start one at once; this one has been read already,
    /// so it is sent again for the same effect.
    func trigger(data: [UInt8], host: ServiceHost) throws {
        if let table = tableWatch.changedTable() {
            host.info("table \(table) has changed -- restarting")
            do {
                try host.sendTrigger(service: "public/" + host.serviceName, data: data)
            } catch {
                host.warning("\(error): the next wakeup starts the new queue manager")
            }
            host.exit(status: 0)
        }
        engine.trigger(data)
    }

    /// Stock's start-up: whatever a previous queue manager left in active
    /// goes back to incoming, to be loaded again.
    private static func recover(_ store: QueueStore, host: ServiceHost) {
        do {
            let report = try store.recoverActive(now: Int(time(nil)))
            for warning in report.warnings { host.warning(warning) }
        } catch {
            host.fatal(error.description)
        }
    }
}
