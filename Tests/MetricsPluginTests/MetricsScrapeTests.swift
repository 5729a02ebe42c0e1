// MetricsScrapeTests.swift - the metrics plugin on our real master with the
// stock daemons: after real mail has flowed (smtp-source into smtpd, relayed
// to smtp-sink) and more is deferred (a site refusing it), a scrape carries the
// master's per-service series, the queue counts and ages, build info, in the
// text format that promtool accepts and in OpenMetrics; the queue census
// reads each queue file's header once, not on every scrape.
import Foundation
import XCTest
import TestSupport
import Glibc

final class MetricsScrapeTests: MetricsTestCase {
    /// A site that greets with 421 after a second, in place of the sink.
    var downSite: ScriptedSink?

    override func tearDown() {
        downSite?.stop()
        downSite = nil
        super.tearDown()
    }

    /// 20 messages relayed to a sink, then 5 deferred once the sink is
    /// replaced by a site that refuses them after a second: the five
    /// deliveries overlap and fail as one cohort, so the destination is
    /// throttled (dead) afterwards.
    func flowThenDefer() throws -> PrivateInstance {
        let sink = try SmtpSink()
        let inst = try startMetricsInstance(relayPort: sink.port)
        let sent = try inst.smtpSource(sessions: 4, messages: 20)
        XCTAssertEqual(sent.status, 0, "smtp-source: \(sent.output)")
        XCTAssertTrue(sink.waitForMessages(20, timeout: 90), "sink got \(sink.messageCount) of 20")
        XCTAssertTrue(inst.waitQueueEmpty(timeout: 60), "queue: \(inst.queuedFiles().prefix(5))")
        sink.stop()
        var script = ScriptedSink.Script()
        script.banner = "421 4.3.2 site down for the test"
        script.bannerDelay = 1
        waitUntil(timeout: 30, interval: 0.5) {
            self.downSite = try? ScriptedSink(port: sink.port, script: script)
            return self.downSite != nil
        }
        XCTAssertNotNil(downSite, "cannot listen on \(sink.port) again")
        let deferred = try inst.smtpSource(sessions: 5, messages: 5)
        XCTAssertEqual(deferred.status, 0, "smtp-source: \(deferred.output)")
        XCTAssertTrue(waitUntil(timeout: 90, interval: 0.3) {
            inst.queuedFiles().filter { $0.hasPrefix("deferred/") }.count == 5
        }, "5 deferred messages, queue: \(inst.queuedFiles())")
        return inst
    }

    func testScrapeAfterMailFlowedCarriesServiceQueueAndBuildSeriesAndPromtoolAcceptsIt() throws {
        try MetricsEnv.requireExecutable(MetricsEnv.promtool)
        let inst = try flowThenDefer()
        let reply = try scrape()
        XCTAssertEqual(reply.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertEqual(reply.headers["content-length"], String(reply.body.utf8.count))
        let text = reply.body
        let metrics = Exposition(text)

        XCTAssertEqual(metrics.value("mailhost_build_info", ["abi": "1.1"]), 1, text)
        XCTAssertEqual(metrics.value("mailhost_master_up"), 1, text)
        let smtpd: [String: String] = ["service": "127.0.0.1:\(inst.smtpPort)", "type": "inet"]
        let smtpdSpawns = try XCTUnwrap(metrics.value("mailhost_service_spawns_total", smtpd), "smtpd spawns in:\n\(text)")
        XCTAssertGreaterThanOrEqual(smtpdSpawns, 1)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(metrics.value("mailhost_service_spawns_total", ["service": "smtp", "type": "unix"])), 1,
                                    "the smtp client was spawned to relay")
        XCTAssertEqual(metrics.value("mailhost_service_process_limit", ["service": "qmgr"]), 1)
        XCTAssertEqual(metrics.value("mailhost_service_processes", ["service": "qmgr"]), 1)
        XCTAssertEqual(metrics.value("mailhost_service_throttled", ["service": "qmgr"]), 0)
        let wakeup = try XCTUnwrap(metrics.value("mailhost_service_next_wakeup_timestamp_seconds", ["service": "pickup"]))
        XCTAssertLessThan(abs(wakeup - Date().timeIntervalSince1970), 120, "pickup's next wakeup within its 60 s period")
        XCTAssertEqual(metrics.value("mailhost_service_processes", ["service": "127.0.0.1:\(metricsPort)"]), 1,
                       "the one metrics process")
        XCTAssertNotNil(metrics.value("mailhost_service_busy_processes", ["service": "qmgr"]))

        XCTAssertEqual(metrics.value("mailhost_queue_messages", ["queue": "deferred"]), 5, text)
        XCTAssertEqual(metrics.value("mailhost_queue_messages", ["queue": "active"]), 0)
        XCTAssertEqual(metrics.value("mailhost_queue_message_age_seconds_bucket", ["queue": "deferred", "le": "300"]), 5,
                       "the deferred messages arrived minutes ago at most")
        XCTAssertEqual(metrics.value("mailhost_queue_message_age_seconds_count", ["queue": "deferred"]), 5)
        // Our qmgr.so runs on Debian's qmgr line and serves pid/qmgr.metrics.
        XCTAssertEqual(metrics.value("mailhost_qmgr_up"), 1, text)
        XCTAssertEqual(metrics.value("mailhost_qmgr_active_message_limit"), 20000, text)
        XCTAssertEqual(metrics.value("mailhost_qmgr_delivery_recipients_total", ["transport": "smtp", "result": "ok"]), 20, text)
        XCTAssertTrue(text.contains("# TYPE mailhost_qmgr_delivery_requests_total counter\n"), text)

        let check = try runCommand("/bin/sh", ["-c", "\(MetricsEnv.promtool) check metrics"], stdin: text, timeout: 60)
        XCTAssertEqual(check.status, 0, "promtool check metrics:\n\(check.output)\n--- input:\n\(text)")

        // OpenMetrics when asked for, as Prometheus asks.
        let open = try scrape(accept: "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        XCTAssertEqual(open.headers["content-type"], "application/openmetrics-text; version=1.0.0; charset=utf-8")
        XCTAssertTrue(open.body.hasSuffix("# EOF\n"), open.body)
        XCTAssertTrue(open.body.contains("# TYPE mailhost_service_spawns counter\n"), open.body)
        XCTAssertTrue(open.body.contains("# TYPE mailhost_queue_message_age_seconds gaugehistogram\n"), open.body)
        XCTAssertTrue(open.body.contains("mailhost_queue_message_age_seconds_gcount{queue=\"deferred\"} 5\n"), open.body)
        XCTAssertTrue(open.body.contains("# TYPE mailhost_build info\n"), open.body)

        // Unchanged queues: no queue file is read again, and directories are
        // re-listed only while their mtime is recent (none after 3 s).
        sleep(3)
        let before = Exposition(try scrape().body)
        let after = Exposition(try scrape().body)
        XCTAssertEqual(after.value("mailhost_metrics_queue_files_read_total"), before.value("mailhost_metrics_queue_files_read_total"))
        XCTAssertEqual(after.value("mailhost_metrics_queue_directories_listed_total"),
                       before.value("mailhost_metrics_queue_directories_listed_total"))
        XCTAssertEqual(after.value("mailhost_queue_messages", ["queue": "deferred"]), 5)
    }

    /// Debian's real Prometheus server scrapes the plugin (it negotiates
    /// OpenMetrics) and its query API returns the series.
    func testPrometheusServerScrapesThePlugin() throws {
        try MetricsEnv.requireExecutable(MetricsEnv.prometheus)
        let inst = try flowThenDefer()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let webPort = try Net.freePort()
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: mailhost
                static_configs:
                  - targets: ['127.0.0.1:\(metricsPort)']
            """
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        // exec: the pid is the server's, which is stopped by pid.
        let server = try startCommand("/bin/sh", ["-c", "exec \"$0\" \"$@\" >\"$LOG\" 2>&1", MetricsEnv.prometheus,
            "--config.file=" + directory + "/prometheus.yml", "--storage.tsdb.path=" + directory + "/data",
            "--web.listen-address=127.0.0.1:\(webPort)"], env: ["LOG": directory + "/prometheus.log"])
        defer { Proc.terminate(server, graceful: 10); _ = waitpid(server, nil, 0) }

        func query(_ expression: String) -> [[String: Any]] {
            var components = URLComponents(string: "http://127.0.0.1:\(webPort)/api/v1/query")!
            components.queryItems = [URLQueryItem(name: "query", value: expression)]
            // A "+" in a query string reads as a space.
            components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
            guard let path = components.url.map({ $0.path + "?" + ($0.query ?? "") }),
                  let reply = try? HTTPWire.exchange(port: webPort, HTTPWire.get(path), timeout: 10), reply.status == 200,
                  let json = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return [] }
            return result
        }
        func value(_ sample: [String: Any]) -> String? { (sample["value"] as? [Any])?.last as? String }

        var up: [[String: Any]] = []
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.5) {
            up = query("up{job=\"mailhost\"}")
            return up.first.flatMap(value) == "1"
        }, "Prometheus scraped the plugin: \(up)\n\((try? String(contentsOfFile: directory + "/prometheus.log", encoding: .utf8)) ?? "")")
        let build = query("mailhost_build_info")
        XCTAssertEqual((build.first?["metric"] as? [String: String])?["abi"], "1.1", "\(build)")
        XCTAssertEqual(query("mailhost_queue_messages{queue=\"deferred\"}").first.flatMap(value), "5")
        XCTAssertEqual(query("mailhost_service_processes{service=\"qmgr\",type=\"unix\"}").first.flatMap(value), "1")
        let spawns = query("mailhost_service_spawns_total{service=\"127.0.0.1:\(inst.smtpPort)\"}").first.flatMap(value)
        XCTAssertGreaterThanOrEqual(spawns.flatMap(Double.init) ?? 0, 1, "smtpd spawns as Prometheus stored them")
        XCTAssertEqual(query("mailhost_queue_message_age_seconds_bucket{queue=\"deferred\",le=\"+Inf\"}").first.flatMap(value), "5")

        // Our qmgr's series as Prometheus stored them: 20 recipients relayed
        // (replies with status 0), 5 deferred by the refusing site (by smtp,
        // or by `retry` after the destination died), that destination
        // throttled (dead) with no concurrency window, and the smtp
        // transport's limit, busy and todo counts.
        func number(_ expression: String) -> Double? { query(expression).first.flatMap(value).flatMap(Double.init) }
        var deferredRecipients: Double?
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.5) {
            deferredRecipients = number("sum(mailhost_qmgr_delivery_recipients_total{result=\"deferred\"})")
            return deferredRecipients == 5
        }, "deferred recipients: \(String(describing: deferredRecipients)); \(query("mailhost_qmgr_delivery_recipients_total"))")
        XCTAssertEqual(number("mailhost_qmgr_delivery_recipients_total{transport=\"smtp\",result=\"ok\"}"), 20)
        XCTAssertGreaterThanOrEqual(number("mailhost_qmgr_delivery_requests_total{transport=\"smtp\",result=\"ok\"}") ?? 0, 1)
        XCTAssertEqual(number("sum(mailhost_qmgr_delivery_requests_total{result=~\"crashed|unsent\"})"), nil,
                       "no agent crashed and every request was written")
        XCTAssertEqual(number("mailhost_qmgr_up"), 1)
        XCTAssertEqual(number("mailhost_qmgr_transport_concurrency_limit{transport=\"smtp\"}"), 20)
        XCTAssertEqual(number("mailhost_qmgr_transport_busy_deliveries{transport=\"smtp\"}"), 0)
        let dead = query("mailhost_qmgr_destination_state{transport=\"smtp\",state=\"throttled\"}")
        let site = try XCTUnwrap((dead.first?["metric"] as? [String: String])?["destination"],
                                 "a throttled smtp destination: \(query("mailhost_qmgr_destination_state"))")
        XCTAssertEqual(number("mailhost_qmgr_destination_concurrency_window{transport=\"smtp\",destination=\"\(site)\"}"), 0)
        XCTAssertEqual(number("mailhost_qmgr_destination_busy_deliveries{transport=\"smtp\",destination=\"\(site)\"}"), 0)
        XCTAssertEqual(number("mailhost_qmgr_destination_todo_entries{transport=\"smtp\",destination=\"\(site)\"}"), 0)
    }

    func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/mailhost-prometheus-XXXXXX".utf8CString)
        guard let path = mkdtemp(&template) else { throw HarnessError("mkdtemp: \(errno)") }
        return String(cString: path)
    }
}
