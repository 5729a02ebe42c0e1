// FlushService.swift - the fast-flush server as a single-model plugin, for
// Debian's unchanged `flush unix n - y 1000? 0 flush` line: one request per
// connection, as stock flush(8). PRE_INIT (root, before the chroot) reads
// fast_flush_domains; INIT the other settings. Each connection gets the
// protocol announcement, then one request (FlushRequest), answered as
// stock answers it:
// - add, send_site: DENY for a site outside fast_flush_domains (FAIL, with
//   a warning, when the list cannot be evaluated, e.g. proxymap refuses or
//   cannot be reached for a type:table pattern), DENY for a site without a log name, BAD
//   for a log name stock refuses, else OK after the log work (FlushLogs);
// - send_file: BAD for a bad queue ID, else OK;
// - refresh (also the master's wakeup "W") and purge: OK at once, then the
//   refresh (purge: every non-empty log) after the reply;
// - a malformed request: BAD; an unknown request name: no reply.
// Guarantees: the reply never depends on more than the request, the
// files under flush/, fast_flush_domains' tables (read at start, or
// proxymap's answers); one client is bounded by ipc_timeout (and the
// host's watchdog, daemon_timeout).
import MailQueue
import PluginAPI

final class FlushService: SingleServer {
    static let name = "flush"
    static let version = "1.0"
    /// send_trigger: the queue manager's "F" and "I" requests.
    static var requiredCapabilities: Capabilities { [.parameters, .logging, .triggers] }

    private let settings: FlushSettings
    private let logs: FlushLogs
    /// Where fast_flush_domains' tables not read in PRE_INIT ("proxy:" ones,
    /// and types without fixed keys) are looked up: proxymap under the
    /// current directory (the queue directory, or the jail).
    private let tables: ProxymapClient

    static func preInit(host: ServiceHost) throws {
        FlushSettings.domainsBeforeJail = FlushSettings.readDomains(host: host, loadingTables: true)
        IDNA.loaded = IDNA.load(transitional: host.bool("enable_idna2003_compatibility", default: false))
    }

    init(host: ServiceHost) throws {
        settings = FlushSettings(host: host)
        logs = FlushLogs(host: host, settings: settings)
        tables = ProxymapClient(queueDirectory: ".", service: settings.proxymapService,
                                timeout: Double(settings.ipcTimeout))
    }

    func serve(client: Client, host: ServiceHost) throws {
        let reader = FlushRequestReader(fd: client.fd, peer: host.serviceName + " socket",
                                        timeout: Double(settings.ipcTimeout))
        reader.announce()
        let request: FlushRequest
        do {
            let (read, warnings) = try reader.read()
            for warning in warnings { host.warning(warning) }
            request = read
        } catch {
            host.warning("\(error)")
            reader.reply(.bad)
            return
        }
        switch request {
        case .add(let site, let queueID):
            reader.reply(add(site: site, queueID: queueID, host: host))
        case .sendSite(let site):
            reader.reply(sendSite(site, host: host))
        case .sendFile(let queueID):
            guard let id = QueueID(queueID.description), id.text.utf8.elementsEqual(queueID.bytes) else {
                reader.reply(.bad)
                return
            }
            reader.reply(logs.sendFile(id))
        case .refresh:
            reader.reply(.ok)
            _ = logs.refresh(maxAge: settings.refreshTime)
        case .purge:
            reader.reply(.ok)
            _ = logs.refresh(maxAge: 0)
        case .malformed:
            reader.reply(.bad)
        case .unknown:
            return
        }
    }

    private func add(site: ByteString, queueID: ByteString, host: ServiceHost) -> FlushStatus {
        guard let id = QueueID(queueID.description), id.text.utf8.elementsEqual(queueID.bytes) else { return .bad }
        switch logName(site, host: host) {
        case .success(let name): return logs.add(log: name, queueID: id)
        case .failure(let refusal): return refusal.status
        }
    }

    private func sendSite(_ site: ByteString, host: ServiceHost) -> FlushStatus {
        switch logName(site, host: host) {
        case .success(let name): return logs.send(log: name, how: .before)
        case .failure(let refusal): return refusal.status
        }
    }

    /// The site's log name, or the status stock answers instead.
    private func logName(_ site: ByteString, host: ServiceHost) -> Result<QueueID, StatusError> {
        switch settings.domains.match(site, tables: tables, warn: { host.warning($0) }) {
        case .noMatch: return .failure(StatusError(.deny))
        case .error(let why, let detail):
            if let detail { host.warning(detail) }
            host.warning(why)
            return .failure(StatusError(.fail))
        case .match: break
        }
        switch FlushLogName.make(site: site) {
        case .success(let name): return .success(name)
        case .failure(.nonASCII):
            host.warning("flush: cannot convert domain \"\(site.description.prefix(100))\" to ASCII form (no IDNA support)")
            return .failure(StatusError(.deny))
        case .failure(.malformed):
            host.warning(Self.translationProblem(site, "malformed ASCII label(s)"))
            return .failure(StatusError(.deny))
        case .failure(.conversion(let why)):
            host.warning(Self.translationProblem(site, why))
            return .failure(StatusError(.deny))
        }
    }
}

extension FlushService {
    static func translationProblem(_ site: ByteString, _ why: String) -> String {
        "midna_domain_to_ascii_create: Problem translating domain \"\(site.description.prefix(100))\" to ASCII form: \(why)"
    }
}

/// A status as a Result's failure.
struct StatusError: Error {
    let status: FlushStatus
    init(_ status: FlushStatus) { self.status = status }
}
