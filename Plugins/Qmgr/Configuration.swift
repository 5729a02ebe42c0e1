// Configuration.swift - everything the queue manager reads from main.cf at
// start-up, in one value: the scheduler's settings (QmgrSettings), where
// the queue and the services are, how recipients are routed (LoadSettings),
// how messages are completed, and how lines are logged.
// Guarantees: a value stock qmgr treats as fatal is a thrown
// ConfigurationError carrying stock's text (the caller ends the process
// with it); nothing is replaced by a default behind the administrator's back.
import MailQueue
import QmgrCore
import QmgrDelivery
import QmgrQueue

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
}

struct Configuration {
    let settings: QmgrSettings
    /// Where the queue and the service sockets are: the working directory.
    let queueDirectory: String
    let hashing: QueueHashing
    let dontRemove: Bool
    let rewriteService: String
    let services: StatusServices
    let completionPolicy: CompletionPolicy
    let logLines: QmgrLogLines
    let verifyNegativeCache: Bool
    /// in_flow_delay and default_process_limit: the flow tokens for cleanup.
    let inflow: InflowControl
    /// LoadSettings without the per-transport recipient limit, which needs the scheduler.
    let myhostname: String
    let doubleBounceSender: String
    let recipientDelimiter: String
    let ownerRequestSpecial: Bool
    let verpFilter: String
    let logExternalForm: Bool
    /// smtputf8_enable (its default depends on compatibility_level).
    let smtputf8Enabled: Bool
    /// defer_append's fast-flush `add` (fast_flush_domains, flush_service_name).
    let flush: FlushClient
    /// The local tables read here, for stock's restart when one changes.
    let tableWatch: TableChangeWatch

    init(_ p: ParameterLookup) throws {
        do {
            settings = try QmgrSettings(lookup: p.closure)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        let reader = ParameterReader(lookup: p.closure)
        // Relative, as stock's daemons: a worker starts in queue_directory
        // (the master's working directory), or in a chroot to it.
        queueDirectory = "."
        let depth: Int
        do {
            depth = try reader.integer("hash_queue_depth", default: 1, minimum: 1)
            dontRemove = try reader.integer("dont_remove", default: 0) != 0
            ownerRequestSpecial = try reader.boolean("owner_request_special", default: true)
            verifyNegativeCache = try reader.boolean("address_verify_negative_cache", default: true)
            smtputf8Enabled = try reader.boolean("smtputf8_enable", default: true)
            inflow = InflowControl(enabled: try reader.seconds("in_flow_delay", default: 1, maximum: 10) > 0,
                                   processLimit: try reader.integer("default_process_limit", default: 100, minimum: 1))
            let resolution = try reader.integer("delay_logging_resolution_limit", default: 2, maximum: 6)
            let format = p.string("info_log_address_format", default: "external")
            guard let form = LogAddressForm(setting: format) else {
                throw ConfigurationError(description: "invalid info_log_address_format value: \"\(format)\"")
            }
            logExternalForm = form == .external
            logLines = QmgrLogLines(addressForm: form, delayResolution: resolution)
            let ipc = try reader.seconds("ipc_timeout", default: 3600, minimum: 1)
            services = StatusServices(queueDirectory: queueDirectory,
                                      bounce: p.string("bounce_service_name", default: "bounce"),
                                      defer: p.string("defer_service_name", default: "defer"),
                                      trace: p.string("trace_service_name", default: "trace"),
                                      verify: p.string("address_verify_service_name", default: "verify"),
                                      timeout: Double(ipc))
        } catch let error as QmgrConfigError {
            throw ConfigurationError(description: error.description)
        }
        do {
            hashing = try QueueHashing(hashQueueNames: p.string("hash_queue_names", default: "deferred, defer"),
                                       depth: depth)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        rewriteService = p.string("rewrite_service_name", default: "rewrite")
        // Read in PRE_INIT (outside any chroot) when the host ran it.
        let fastFlush = try FastFlushDomains.beforeJail ?? FastFlushDomains.read(p)
        tableWatch = fastFlush.watch
        flush = FlushClient(queueDirectory: queueDirectory, service: p.string("flush_service_name", default: "flush"),
                            domains: fastFlush.list,
                            tables: ProxymapClient(queueDirectory: queueDirectory,
                                                   service: p.string("proxymap_service_name", default: "proxymap"),
                                                   timeout: Double(settings.ipcTimeout)),
                            timeout: Double(settings.ipcTimeout),
                            warn: { [host = p.host] in host.warning($0) })
        myhostname = p.string("myhostname", default: "localhost")
        doubleBounceSender = p.string("double_bounce_sender", default: "double-bounce")
        recipientDelimiter = p.string("recipient_delimiter", default: "")
        verpFilter = p.string("verp_delimiter_filter", default: "-=+")
        completionPolicy = CompletionPolicy(
            maximalQueueLifetime: settings.maximalQueueLifetime, bounceQueueLifetime: settings.bounceQueueLifetime,
            backoff: RetryBackoff(minimal: settings.minimalBackoffTime, maximal: settings.maximalBackoffTime),
            disableVerpBounces: settings.disableVerpBounces)
    }

    /// How the loader routes recipients; `recipientLimit` gives a
    /// transport's destination recipient limit (it decides queue names).
    func loadSettings(recipientLimit: @escaping (ByteString) -> Int) -> LoadSettings {
        var s = LoadSettings(myhostname: ByteString(myhostname), destinationRecipientLimit: recipientLimit)
        s.defaultFilterNexthop = ByteString(settings.defaultFilterNexthop)
        s.deferTransports = settings.deferTransports.map { ByteString($0) }
        s.doubleBounceSender = ByteString(doubleBounceSender)
        s.recipientDelimiter = ByteString(recipientDelimiter)
        s.ownerRequestSpecial = ownerRequestSpecial
        s.confirmDelayCleared = settings.confirmDelayCleared
        s.verifyPendingLimit = settings.verifyPendingLimit
        s.verpFilter = verpFilter
        s.logExternalForm = logExternalForm
        return s
    }

    /// The conversations' clocks: qmgr_ipc_timeout, and qmgr_daemon_timeout as the watchdog.
    var exchangeTimeouts: ExchangeTimeouts {
        ExchangeTimeouts(ipc: Double(settings.ipcTimeout), watchdog: Double(settings.daemonTimeout))
    }
}
