// Probe.swift - a Swift test plugin that records what it sees of the real
// host, so the SDK is tested against the master's own host function table
// instead of a stand-in (Tests/PluginHostTests/SDKHostTests.swift).
//
// A trigger-model service. At PRE_INIT (as root, before the privilege drop)
// it appends "pre_init euid=N" to $probe_report.pre; at INIT it appends to
// the file named by
// $probe_report one "name=value" line per observation: typed parameters
// (main.cf, -o overrides, $name expansion, Postfix and plugin defaults), the
// service name and type, and the master.cf arguments. Each trigger appends
// "trigger <hex of the bytes>", then acts on its text:
//     log             log at each level, directly and through swift-log
//     flood N         N info records back to back (at most 100,000)
//     send SVC DATA   send_trigger DATA to SVC; "sent SVC ok|failed: why"
//     throw           throw a Swift error (the SDK logs it, returns -1)
//     fatal           ServiceHost.fatal (logged, the process exits 1)
//     exit            orderly exit: PRE_EXIT appends "pre_exit" first
//   ABI 1.1 (trigger model with Capabilities.events and .lifecycle):
//     events          a socket pair through watch/setWatchMask: "watch
//                     write=W", "watch read=R", "watch hangup=H" (raw masks);
//                     timers: "timer ran", "cancel true false" (a cancelled
//                     one never records "timer cancelled ran")
//     hook            "hook N": loop hook calls since INIT (N > 0)
//     checked NAME    "checked NAME=VALUE" or "checked NAME failed: WHY"
//                     (a time parameter, minimum 10 s)
//     declare         declare(solitary:longLived:); "declared ok|failed: why"
// Tests install it themselves; make install leaves it out.
//     probe unix - n n - 1 probe -o probe_report=/tmp/x/report a { b c }
import Glibc
import Logging
import PluginAPI
import PluginAPILogging

final class ProbeService: TriggerServer {
    static let name = "probe"
    static let version = "1.0"
    static var requiredCapabilities: Capabilities { [.parameters, .logging, .triggers, .events, .lifecycle] }

    private let report: String
    private var hookCalls = 0
    private var pair: [Int32] = [-1, -1]

    static func preInit(host: ServiceHost) throws {
        let report = host.string("probe_report", default: "")
        guard report.hasPrefix("/") else { return }
        Self.record(["pre_init euid=\(geteuid())"], to: report + ".pre")
    }

    init(host: ServiceHost) throws {
        report = host.string("probe_report", default: "")
        guard report.hasPrefix("/") else { throw PluginError("probe_report must be an absolute path, not \"\(report)\"") }
        record(Self.observations(host))
        host.info("probe: ready on \(host.serviceName)/\(host.serviceType)")
        try host.setLoopHook { [unowned self] in
            self.hookCalls += 1
            return -1
        }
    }

    /// What the host answers, in a fixed order the tests spell out.
    static func observations(_ host: ServiceHost) -> [String] {
        var lines = [
            "string probe_string=" + host.string("probe_string", default: "dflt"),
            "string probe_override=" + host.string("probe_override", default: "dflt"),
            "string probe_expanded=" + host.string("probe_expanded", default: "dflt"),
            "string probe_dollar=" + host.string("probe_dollar", default: "dflt"),
            "string probe_empty=" + host.string("probe_empty", default: "dflt"),
            "string probe_long=" + host.string("probe_long", default: "dflt"),
            "string probe_unset=" + host.string("probe_unset", default: "défaut ünïcode"),
            "string mail_owner=" + host.string("mail_owner", default: "dflt"),
            "string mynetworks=" + host.string("mynetworks", default: "dflt"),
            "int probe_int=\(host.int("probe_int", default: -1))",
            "int probe_int_unset=\(host.int("probe_int_unset", default: -5))",
            "int default_process_limit=\(host.int("default_process_limit", default: -1))",
            "bool probe_bool=\(host.bool("probe_bool", default: false))",
            "bool probe_bool_no=\(host.bool("probe_bool_no", default: true))",
            "bool probe_bool_unset=\(host.bool("probe_bool_unset", default: true))",
            "time probe_time=\(host.time("probe_time", default: "1s"))",
            "time probe_time_unset=\(host.time("probe_time_unset", default: "2h"))",
            "time max_idle=\(host.time("max_idle", default: "1s"))",
            "service_name=" + host.serviceName,
            "service_type=" + host.serviceType,
        ]
        lines += host.arguments.enumerated().map { "arg\($0.offset)=\($0.element)" }
        return lines
    }

    func trigger(data: [UInt8], host: ServiceHost) throws {
        record(["trigger " + data.map { String($0, radix: 16).leftPadded(to: 2) }.joined()])
        let words = String(decoding: data, as: UTF8.self).split(separator: " ", maxSplits: 2).map(String.init)
        switch words.first {
        case "log": logAtEachLevel(host)
        case "say": host.info("probe: said " + String(decoding: data.dropFirst(4), as: UTF8.self))
        case "flood" where words.count == 2:
            // Records back to back, faster than postlogd writes them (bounded).
            let count = min(Int(words[1]) ?? 0, 100_000)
            for index in stride(from: 1, through: count, by: 1) { host.info("probe: flood \(index) of \(count)") }
        case "send" where words.count == 3: send(words[2], to: words[1], host)
        case "throw": throw PluginError("probe: thrown on request")
        case "fatal": host.fatal("probe: fatal on request")
        case "exit": host.exit(status: 0)
        case "events": try exerciseEvents(host)
        case "hook": record(["hook \(hookCalls)"])
        case "checked" where words.count == 2:
            do {
                record(["checked \(words[1])=\(try host.checked(.time, words[1], default: "1h", minimum: 10))"])
            } catch {
                record(["checked \(words[1]) failed: \(error)"])
            }
        case "declare":
            do {
                try host.declare(solitary: true, longLived: true)
                record(["declared ok"])
            } catch {
                record(["declared failed: \(error)"])
            }
        default: break
        }
    }

    /// A socket pair driven through the 1.1 watches, and two timers, one
    /// cancelled; everything is recorded from the callbacks.
    private func exerciseEvents(_ host: ServiceHost) throws {
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw PluginError("socketpair failed") }
        var step = 0
        try host.watch(pair[0], for: .write) { [unowned self] fd, events in
            step += 1
            switch step {
            case 1:
                record(["watch write=\(events.rawValue)"])
                try? host.setWatchMask(fd, to: .read)
                _ = write(pair[1], "x", 1)
            case 2:
                record(["watch read=\(events.rawValue)"])
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)
                close(pair[1])
            default:
                record(["watch hangup=\(events.rawValue)"])
                host.unwatch(fd)
                close(fd)
            }
        }
        try host.startTimer(milliseconds: 100) { [unowned self] in record(["timer ran"]) }
        let doomed = try host.startTimer(milliseconds: 50) { [unowned self] in record(["timer cancelled ran"]) }
        record(["cancel \(host.cancelTimer(doomed)) \(host.cancelTimer(doomed))"])
    }

    func preExit(host: ServiceHost) {
        record(["pre_exit"])
    }

    private func logAtEachLevel(_ host: ServiceHost) {
        host.info("probe: info line")
        host.warning("probe: warning line")
        host.error("probe: error line")
        var logger = host.logger(label: "unused-label", level: .debug)
        logger[metadataKey: "service"] = "\(host.serviceName)"
        logger.trace("probe: below debug, not logged")
        logger.debug("probe: swift-log debug")
        logger.notice("probe: swift-log notice")
        logger.warning("probe: swift-log warning", metadata: ["client": "127.0.0.1", "attempt": "2"])
        logger.error("probe: swift-log error")
        logger.critical("probe: swift-log critical")
        let labelled = Logger(label: "policy") { _ in ServiceHostLogHandler(host: host, label: "policy") }
        labelled.debug("probe: hidden at the default level")
        labelled.info("probe: labelled")
    }

    private func send(_ text: String, to service: String, _ host: ServiceHost) {
        do {
            try host.sendTrigger(service: service, data: Array(text.utf8))
            record(["sent \(service) ok"])
        } catch {
            record(["sent \(service) failed: \(error)"])
        }
    }

    /// Appends lines to the report in one write (O_APPEND).
    private func record(_ lines: [String]) {
        Self.record(lines, to: report)
    }

    private static func record(_ lines: [String], to report: String) {
        let fd = open(report, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

@_cdecl("mailhost_plugin_entry")
public func mailhostPluginEntry() -> UnsafePointer<mh_plugin_descriptor> {
    PluginExport.descriptor(for: ProbeService.self)
}
