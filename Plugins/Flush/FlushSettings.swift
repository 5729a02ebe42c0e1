// FlushSettings.swift - what the fast-flush service reads from main.cf:
// fast_flush_domains (read before the chroot, as stock's pre-jail
// initialisation, so that "/file" patterns and local tables such as
// hash:/etc/postfix/relay_domains or regexp:/etc/postfix/flush.re are read
// as root outside the jail), fast_flush_refresh_time, fast_flush_purge_time, ipc_timeout,
// qmgr_service_name, proxymap_service_name and the queue hashing.
// Guarantees: a value stock flush(8) treats as fatal ends the process with
// stock's kind of text; no value is replaced by a default behind the
// administrator's back.
import MailQueue
import PluginAPI

struct FlushSettings {
    let domains: DomainList
    /// fast_flush_refresh_time, seconds.
    let refreshTime: Int64
    /// fast_flush_purge_time, seconds.
    let purgeTime: Int64
    /// ipc_timeout, seconds: how long a client may take to send its request.
    let ipcTimeout: Int64
    /// "public/" + qmgr_service_name: where the queue manager's triggers go.
    let queueManager: String
    /// proxymap_service_name: where type:table patterns are looked up.
    let proxymapService: String
    let hashing: QueueHashing

    /// Read in PRE_INIT (root, before the chroot), kept for INIT.
    nonisolated(unsafe) static var domainsBeforeJail: DomainList?

    /// fast_flush_domains; with `loadingTables` (PRE_INIT, root, outside
    /// the jail) the tables a process opens itself (hash:relay_domains,
    /// regexp:, cidr:, ...) are opened now, as stock opens them there (they
    /// need not be approved for proxymap), and what stock logs then is
    /// logged (a fatal one ends the process, as stock's does).
    static func readDomains(host: ServiceHost, loadingTables: Bool) -> DomainList {
        let setting = { (name: String, fallback: String) in host.string(name, default: fallback) }
        let list: DomainList
        do {
            list = try DomainList.fastFlushDomains(setting: setting)
        } catch {
            host.fatal(error.description)
        }
        guard loadingTables else { return list }
        let loaded = list.loadingLocalTables(setting: setting)
        for notice in loaded.tableNotices {
            switch notice.level {
            case .warning: host.warning(notice.text)
            case .error: host.error(notice.text)
            case .fatal: host.fatal(notice.text)
            }
        }
        return loaded
    }

    init(host: ServiceHost) {
        domains = Self.domainsBeforeJail ?? Self.readDomains(host: host, loadingTables: false)
        do {
            refreshTime = try host.checked(.time, "fast_flush_refresh_time", default: "12h", minimum: 1)
            purgeTime = try host.checked(.time, "fast_flush_purge_time", default: "7d", minimum: 1)
            ipcTimeout = try host.checked(.time, "ipc_timeout", default: "3600s", minimum: 1)
            let depth = try host.checked(.integer, "hash_queue_depth", default: "1", minimum: 1)
            hashing = try QueueHashing(hashQueueNames: host.string("hash_queue_names", default: "deferred, defer"),
                                       depth: Int(depth))
        } catch {
            host.fatal("\(error)")
        }
        queueManager = "public/" + host.string("qmgr_service_name", default: "qmgr")
        proxymapService = host.string("proxymap_service_name", default: "proxymap")
    }
}
