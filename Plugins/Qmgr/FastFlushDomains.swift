// FastFlushDomains.swift - fast_flush_domains for the queue manager's
// deferrals (defer_append's flush `add`), read where stock qmgr reads it:
// in PRE_INIT, as root and before any chroot (stock's pre-jail flush_init),
// with the tables a process opens itself (LocalTable) opened then, the
// files of its fixed-key ones kept open so that a change later restarts
// the process (TableChangeWatch), and what stock logs while opening them
// logged.
// Guarantees: a list stock refuses, or a table problem stock finds fatal,
// is a thrown ConfigurationError with stock's text; the watch is made
// before the tables are read, so a change made while they are read is
// seen.
import MailQueue

enum FastFlushDomains {
    /// Read in PRE_INIT, kept for INIT (one worker process, one thread).
    nonisolated(unsafe) static var beforeJail: (list: DomainList, watch: TableChangeWatch)?

    static func read(_ p: ParameterLookup) throws -> (list: DomainList, watch: TableChangeWatch) {
        let setting = { (name: String, fallback: String) in p.string(name, default: fallback) }
        let listed: DomainList
        do {
            listed = try DomainList.fastFlushDomains(setting: setting)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        let watch = TableChangeWatch([listed])
        let loaded = listed.loadingLocalTables(setting: setting)
        for notice in loaded.tableNotices {
            switch notice.level {
            case .warning: p.host.warning(notice.text)
            case .error: p.host.error(notice.text)
            case .fatal: throw ConfigurationError(description: notice.text)
            }
        }
        return (loaded, watch)
    }
}
