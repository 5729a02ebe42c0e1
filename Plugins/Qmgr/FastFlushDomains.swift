// FastFlushDomains.swift - fast_flush_domains for the queue manager's
// deferrals (defer_append's flush `add`), read where stock qmgr reads it:
// in PRE_INIT, as root and before any chroot (stock's pre-jail flush_init),
// its local fixed-key tables in full, their files kept open so that a
// change later restarts the process (TableChangeWatch).
// Guarantees: a list stock refuses is a thrown ConfigurationError with
// stock's text; the watch is made before the tables are read, so a change
// made while they are read is seen.
import MailQueue

enum FastFlushDomains {
    /// Read in PRE_INIT, kept for INIT (one worker process, one thread).
    nonisolated(unsafe) static var beforeJail: (list: DomainList, watch: TableChangeWatch)?

    static func read(_ p: ParameterLookup) throws -> (list: DomainList, watch: TableChangeWatch) {
        let listed: DomainList
        do {
            let parentStyle = DomainList.isParentStyle("fast_flush_domains",
                                                       in: p.string("parent_domain_matches_subdomains", default: ""))
            listed = try DomainList(parameter: "fast_flush_domains", value: p.string("fast_flush_domains", default: ""),
                                    parentStyle: parentStyle)
        } catch {
            throw ConfigurationError(description: error.description)
        }
        let watch = TableChangeWatch([listed])
        let loaded = listed.loadingLocalTables(postmap: p.string("command_directory", default: "/usr/sbin") + "/postmap",
                                               configDirectory: p.string("config_directory", default: "/etc/postfix"))
        return (loaded, watch)
    }
}
