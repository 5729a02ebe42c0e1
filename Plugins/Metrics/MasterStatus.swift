// MasterStatus.swift - the master's status report (Sources/Host: one
// `master key=value ...` line, then one `service key=value ...` line per
// master.cf service) as metric families.
//
// Guarantees: unknown keys are ignored and a missing or malformed number
// leaves that one sample out, so an older or newer master still yields what
// both understand; nothing in the report can produce an invalid sample
// (values become label values, which are escaped).

struct ServiceLine {
    let fields: [String: String]

    init(_ line: Substring) {
        var fields: [String: String] = [:]
        for word in line.split(separator: " ").dropFirst() {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        self.fields = fields
    }

    var labels: Labels { [("service", fields["name"] ?? ""), ("type", fields["type"] ?? "")] }

    func number(_ key: String) -> Double? { fields[key].flatMap { Int($0) }.map(Double.init) }

    /// `key:count,...` (or "-") as pairs.
    func pairs(_ key: String) -> [(String, Double)] {
        guard let text = fields[key], text != "-" else { return [] }
        return text.split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let count = Int(parts[1]) else { return nil }
            return (String(parts[0]), Double(count))
        }
    }
}

enum MasterStatus {
    /// The families for one report; `report` nil: the socket did not answer.
    static func families(_ report: [UInt8]?, now: Double) -> [MetricFamily] {
        var up = MetricFamily("mailhost_master_up", .gauge, "Whether the master's status socket answered this scrape.")
        up.add([], report == nil ? 0 : 1)
        guard let report else { return [up] }
        var limit = MetricFamily("mailhost_service_process_limit", .gauge, "master.cf process limit (0: none).")
        var processes = MetricFamily("mailhost_service_processes", .gauge, "Processes of the service.")
        var busy = MetricFamily("mailhost_service_busy_processes", .gauge, "Processes of the service serving a client.")
        var throttled = MetricFamily("mailhost_service_throttled", .gauge, "1 while the master throttles the service after failures.")
        var wakeup = MetricFamily("mailhost_service_next_wakeup_timestamp_seconds", .gauge,
                                  "Unix time of the service's next wakeup, for services with a wakeup time.")
        var spawns = MetricFamily("mailhost_service_spawns", .counter, "Processes the master started for the service.")
        var signals = MetricFamily("mailhost_service_signal_exits", .counter,
                                   "Processes of the service killed by a signal the master did not send.")
        var statuses = MetricFamily("mailhost_service_status_exits", .counter, "Processes of the service that exited with a non-zero status.")
        var generation = MetricFamily("mailhost_master_spawn_generation", .gauge, "The master's spawn generation counter.")
        for line in String(decoding: report, as: UTF8.self).split(separator: "\n") {
            let parsed = ServiceLine(line)
            if line.hasPrefix("master ") {
                parsed.number("generation").map { generation.add([], $0) }
                continue
            }
            guard line.hasPrefix("service ") else { continue }
            let labels = parsed.labels
            parsed.number("limit").map { limit.add(labels, $0) }
            parsed.number("total").map { processes.add(labels, $0) }
            parsed.number("busy").map { busy.add(labels, $0) }
            parsed.fields["throttled"].map { throttled.add(labels, $0 == "yes" ? 1 : 0) }
            parsed.number("wakeup").map { wakeup.add(labels, (now + $0).rounded()) }
            parsed.number("spawns").map { spawns.add(labels, $0) }
            for (signal, count) in parsed.pairs("exit_signals") { signals.add(labels + [("signal", signal)], count) }
            for (status, count) in parsed.pairs("exit_statuses") { statuses.add(labels + [("status", status)], count) }
        }
        return [up, generation, limit, processes, busy, throttled, wakeup, spawns, signals, statuses]
    }
}
