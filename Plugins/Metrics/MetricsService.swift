// MetricsService.swift - the metrics plugin: Prometheus/OpenMetrics over
// HTTP/1.1 from inside the host, an event-model service.
//
//     127.0.0.1:9154 inet n - n - 1 metrics
//
// GET (or HEAD) /metrics answers the master's status (pid/master.metrics),
// our qmgr's query document when it answers (pid/qmgr.metrics), the queue
// census and build information, in the text format 0.0.4, or OpenMetrics
// 1.0.0 when the Accept header prefers it. Other paths: 404; other methods:
// 405; malformed heads: 400; heads over metrics_request_header_limit: 431;
// request bodies: 413. Parameters (main.cf or -o):
//   metrics_request_header_limit  bytes of one request head (8192)
//   metrics_request_timeout       seconds for a whole request head to arrive,
//                                 from the connection or the previous
//                                 response (10s): slow clients are dropped
//   metrics_max_connections       connections at once (32); more get 503
//   metrics_master_socket         (pid/master.metrics), metrics_qmgr_socket
//                                 (pid/qmgr.metrics), relative to the queue
//                                 directory, the worker's working directory
// The service declares itself long-lived so the queue census cache outlives
// max_idle. Runs as mail_owner: it never needs root (see
// Sources/Host/MetricsReport.swift for why the master offers a second socket).
import Glibc
import PluginAPI

final class MetricsService: EventServer {
    static let name = "metrics"
    static let version = "1.0"
    static var requiredCapabilities: Capabilities { [.parameters, .logging, .events, .lifecycle] }

    let limits: ConnectionLimits
    private let masterSocket: String
    private let qmgrSocket: String
    private let census = QueueCensus()
    private var connections: [Int32: HTTPConnection] = [:]
    private var scrapes = 0

    init(host: ServiceHost) throws {
        limits = ConnectionLimits(
            headerBytes: Int(try host.checked(.integer, "metrics_request_header_limit", default: "8192", minimum: 256)),
            requestMilliseconds: 1000 * (try host.checked(.time, "metrics_request_timeout", default: "10s", minimum: 1)),
            connections: Int(try host.checked(.integer, "metrics_max_connections", default: "32", minimum: 1)))
        masterSocket = host.string("metrics_master_socket", default: "pid/master.metrics")
        qmgrSocket = host.string("metrics_qmgr_socket", default: "pid/qmgr.metrics")
        try host.declare(solitary: false, longLived: true)
    }

    func accept(client: Client, host: ServiceHost) throws {
        connections = connections.filter { !$0.value.finished }
        let connection = HTTPConnection(client: client, host: host, service: self)
        if connections.count >= limits.connections {
            connection.refuse()
            return
        }
        connections[client.fd] = connection
        connection.start()
    }

    /// The response to one parsed request.
    func respond(to request: HTTPRequest) -> HTTPResponse {
        guard request.path == "/metrics" else { return .plain(404, "Not Found", "try /metrics\n") }
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(status: 405, reason: "Method Not Allowed", headers: [("Allow", "GET, HEAD")],
                                contentType: "text/plain; charset=utf-8", body: Array("GET or HEAD only\n".utf8))
        }
        let format = HTTPHead.format(accept: request.fields["accept"])
        var response = HTTPResponse(status: 200, reason: "OK", headers: [], contentType: format.contentType,
                                    body: Array(exposition(collect(), format).utf8))
        response.omitBody = request.method == "HEAD"
        return response
    }

    /// Every family, from fresh reads of each source.
    private func collect() -> [MetricFamily] {
        let started = monotonicSeconds()
        let now = wallSeconds()
        scrapes += 1
        var families = [buildInfo()]
        families += MasterStatus.families(try? ReportSocket.read(masterSocket), now: now)
        families += QmgrStatus.families(try? ReportSocket.read(qmgrSocket))
        families += census.families(now: now)
        var count = MetricFamily("mailhost_metrics_scrapes", .counter, "Scrapes this metrics process answered.")
        count.add([], Double(scrapes))
        var duration = MetricFamily("mailhost_metrics_scrape_duration_seconds", .gauge,
                                    "Time this scrape took to collect, in seconds.")
        duration.add([], ((monotonicSeconds() - started) * 1e6).rounded() / 1e6)
        return families + [count, duration]
    }

    private func buildInfo() -> MetricFamily {
        var info = MetricFamily("mailhost_build", .info, "The metrics plugin's build: plugin ABI and plugin version.")
        info.add([("abi", "\(MH_ABI_MAJOR).\(MH_ABI_MINOR)"), ("version", Self.version)], 1)
        return info
    }
}

struct ConnectionLimits {
    let headerBytes: Int
    let requestMilliseconds: Int64
    let connections: Int
}
