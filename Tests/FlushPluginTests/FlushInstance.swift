// FlushInstance.swift - what the flush plugin's end-to-end tests add to the
// harness: instances whose mail for several destinations defers (each
// destination routed by transport_maps to its own loopback port, on which
// nothing listens until the test starts a sink there), built either with
// our master and flush.so installed (so that Debian's unchanged
// `flush unix n - y 1000? 0 flush` line resolves to the plugin) or entirely
// from stock (stock master, stock flush) to compare with; proof that the
// running flush server is our plugin worker; and readers for the flush
// logs, the deferred queue and the log's deferral lines.
import Foundation
import XCTest
import MailQueue
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

enum FlushPluginEnv {
    /// libflush.so built beside the master under test.
    static var builtPlugin: String { TestEnv.builtPlugin("flush") }
    /// libqmgr.so beside it: the queue manager plugin, for runs with our qmgr.
    static var builtQmgrPlugin: String { TestEnv.builtPlugin("qmgr") }

    /// Debian's master.cf line for flush, as `postconf -M` prints it.
    static let debianFlushLine = ["flush", "unix", "n", "-", "y", "1000?", "0", "flush"]
}

/// Destinations a.example ... whose mail goes to 127.0.0.1:<port> each.
struct Destinations {
    let ports: [String: Int]

    init(_ names: [String]) throws {
        let free = try Net.freePorts(names.count)
        ports = Dictionary(uniqueKeysWithValues: zip(names, free))
    }

    var transportMap: String {
        "inline:{" + ports.sorted { $0.key < $1.key }.map { "\($0.key)=smtp:[127.0.0.1]:\($0.value)" }
            .joined(separator: ", ") + "}"
    }
}

class FlushPluginTestCase: InstanceTestCase {
    var sinks: [ScriptedSink] = []

    override func tearDown() {
        sinks.forEach { $0.stop() }
        sinks = []
        super.tearDown()
    }

    /// A sink that accepts every recipient on `port`.
    func startSink(port: Int) throws -> ScriptedSink {
        let sink = try ScriptedSink(port: port, script: ScriptedSink.Script())
        sinks.append(sink)
        return sink
    }

    /// main.cf settings under which mail to `destinations` defers at once
    /// (connection refused) and stays deferred until a flush moves it: the
    /// deferred queue is scanned only at start-up (queue_run_delay), and a
    /// dead destination is retried after a second.
    func deferringParameters(_ destinations: Destinations, fastFlushDomains: [String]) -> [String: String] {
        ["transport_maps": destinations.transportMap,
         "fast_flush_domains": fastFlushDomains.joined(separator: ", "),
         "queue_run_delay": "3600s",
         "minimal_backoff_time": "1s",
         "maximal_backoff_time": "2s",
         "smtp_connect_timeout": "5s"]
    }

    /// Our master, stock daemons, flush.so installed, `parameters` set,
    /// flush chrooted as Debian's line says (the harness turns chroot off
    /// everywhere), `masterCf` applied with postconf -F; started. With
    /// `masterCf` empty the flush line must be Debian's.
    func startPluginInstance(_ parameters: [String: String], masterCf: [String] = [], ourQmgr: Bool = false,
                             withoutRetry: Bool = false) throws -> PrivateInstance {
        let inst = try makeInstance()
        try inst.installPlugin(FlushPluginEnv.builtPlugin, as: "flush")
        if ourQmgr { try inst.installPlugin(FlushPluginEnv.builtQmgrPlugin, as: "qmgr") }
        try postconf(inst.etc, ["-e"] + assignments(parameters))
        // The harness turns every chroot off; Debian's flush line has it on.
        try postconf(inst.etc, ["-F", "flush/unix/chroot = y"])
        if withoutRetry { try postconf(inst.etc, ["-MX", "retry/unix"]) }
        for field in masterCf { try postconf(inst.etc, ["-F", field]) }
        if !masterCf.contains(where: { $0.hasPrefix("flush/") }) {
            let line = try postconf(inst.etc, ["-M", "flush/unix"]).split(whereSeparator: { $0 == " " || $0 == "\n" })
                .map(String.init)
            XCTAssertEqual(line, FlushPluginEnv.debianFlushLine, "master.cf's flush line must be Debian's")
        }
        try inst.start()
        XCTAssertNotNil(inst.waitForLog("command flush resolves to plugin \(inst.libexec)/flush.so", timeout: 10),
                        "the flush line did not resolve to the plugin")
        if ourQmgr {
            XCTAssertNotNil(inst.waitForLog("command qmgr resolves to plugin \(inst.libexec)/qmgr.so", timeout: 10),
                            "the qmgr line did not resolve to the plugin")
        }
        return inst
    }

    /// The stock master with stock daemons (checked against the package), `parameters` set; started.
    func startStockInstance(_ parameters: [String: String], masterCf: [String] = [], withoutRetry: Bool = false) throws -> PrivateInstance {
        try StockBinaries.verifyQueueTools()
        let inst = try makeInstance(master: TestEnv.stockMaster)
        try StockBinaries.verify(instance: inst)
        try postconf(inst.etc, ["-e"] + assignments(parameters))
        if withoutRetry { try postconf(inst.etc, ["-MX", "retry/unix"]) }
        for field in masterCf { try postconf(inst.etc, ["-F", field]) }
        try inst.start()
        return inst
    }

    private func assignments(_ parameters: [String: String]) -> [String] {
        parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    @discardableResult
    func postconf(_ etc: String, _ args: [String]) throws -> String {
        let r = try runCommand("/usr/sbin/postconf", ["-c", etc] + args, timeout: 30)
        guard r.status == 0 else { throw HarnessError("postconf \(args): \(r.output)") }
        return r.output
    }

    /// The flush server is a plugin worker: a fork of our master with
    /// flush.so mapped (waiting out the chroot that follows the load), and
    /// no stock flush process runs.
    func assertPluginFlush(_ inst: PrivateInstance, file: StaticString = #filePath, line: UInt = #line) throws {
        var worker: pid_t?
        waitUntil(timeout: 15, interval: 0.2) {
            worker = inst.children().first { pid in
                ((try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? "").contains(inst.libexec + "/flush.so")
            }
            return worker != nil
        }
        let pid = try XCTUnwrap(worker, "no process of the instance has flush.so loaded", file: file, line: line)
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
        XCTAssertEqual(URL(fileURLWithPath: exe).resolvingSymlinksInPath().path,
                       URL(fileURLWithPath: inst.libexec + "/master").resolvingSymlinksInPath().path,
                       "the flush worker must be our master's fork", file: file, line: line)
        XCTAssertTrue(waitUntil(timeout: 10) { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root")) == inst.queue },
                      "the flush worker must run chrooted to the queue directory (master.cf says y)", file: file, line: line)
        let stock = inst.children().filter { pid in
            ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "").hasSuffix("/sbin/flush")
        }
        XCTAssertEqual(stock, [], "stock flush must not run", file: file, line: line)
    }

    // MARK: mail and queue

    func submit(_ inst: PrivateInstance, to recipient: String) throws {
        let r = try inst.sendmail(to: recipient, body: "Subject: to \(recipient)\n\nfor \(recipient)\n")
        XCTAssertEqual(r.status, 0, "sendmail: \(r.output)")
    }

    /// Queue IDs in deferred/ (any hash depth).
    func deferredIDs(_ inst: PrivateInstance) -> Set<String> {
        Set(inst.queuedFiles().filter { $0.hasPrefix("deferred/") }.map { String($0.split(separator: "/").last!) })
    }

    /// The log's deferral lines for recipients at `domain` (any case).
    func deferralLines(_ inst: PrivateInstance, domain: String) -> [String] {
        inst.log().split(separator: "\n").map(String.init).filter {
            $0.lowercased().contains("@\(domain)>, relay=") && $0.contains("status=deferred")
        }
    }

    /// Queue IDs logged as deferred for a recipient at `domain`.
    func loggedDeferrals(_ inst: PrivateInstance, domain: String) -> Set<String> {
        Set(deferralLines(inst, domain: domain).compactMap { line in
            line.range(of: #"\]: [0-9A-F]+: to="#, options: .regularExpression).map {
                String(line[$0].dropFirst(3).dropLast(5))
            }
        })
    }

    /// Waits until `count` messages are in deferred/ and each was logged as deferred.
    func waitDeferred(_ inst: PrivateInstance, count: Int, domains: [String]) -> Bool {
        waitUntil(timeout: 60, interval: 0.2) {
            deferredIDs(inst).count == count
                && domains.map { loggedDeferrals(inst, domain: $0).count }.reduce(0, +) == count
        }
    }

    /// flush/<name> (unhashed, as by default), nil when absent.
    func flushLog(_ inst: PrivateInstance, _ name: String) -> String? {
        try? String(contentsOfFile: inst.queue + "/flush/" + name, encoding: .utf8)
    }

    func flushLogNames(_ inst: PrivateInstance) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: inst.queue + "/flush")) ?? []).sorted()
    }

    /// The queue IDs listed in flush/<name>.
    func loggedIDs(_ inst: PrivateInstance, _ name: String) -> Set<String> {
        Set((flushLog(inst, name) ?? "").split(separator: "\n").map(String.init))
    }

    /// A fast-flush client for the instance's public/flush that asks the
    /// server about any site (its own domain list matches everything given).
    func flushClient(_ inst: PrivateInstance, sites: [String]) throws -> FlushClient {
        FlushClient(queueDirectory: inst.queue,
                    domains: try DomainList(parameter: "test", value: sites.joined(separator: " "), parentStyle: false),
                    timeout: 30)
    }
}
