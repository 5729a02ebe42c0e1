// QmgrService.swift - the queue manager as a trigger-model plugin, for
// master.cf's unchanged `qmgr unix n - n 300 1 qmgr` line. INIT does what
// stock qmgr does before its first wakeup: read the settings (a bad value
// ends the process with stock's text), declare the service solitary and
// long-lived, set the watchdog to qmgr_daemon_timeout, move active back to
// incoming (start-up recovery), start the incoming and deferred scans, ask
// for a deferred scan every queue_run_delay, and install the loop hook
// (QmgrEngine) that does the work. Each wakeup's bytes are scan requests.
// PRE_INIT (root) makes the query sockets that INIT then serves
// (QueryInterface).
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

    static func preInit(host: ServiceHost) throws {
        QueryInterface.listen(host: host)
    }

    init(host: ServiceHost) throws {
        let config: Configuration
        do {
            config = try Configuration(ParameterLookup(host: host))
        } catch {
            host.fatal("\(error)")
        }
        for warning in config.settings.warnings { host.warning(warning) }
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

    func trigger(data: [UInt8], host: ServiceHost) throws {
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
