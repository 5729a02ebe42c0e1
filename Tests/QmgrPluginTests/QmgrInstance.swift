// QmgrInstance.swift - what the qmgr plugin's end-to-end tests add to the
// harness: a private instance (our master, Debian's unchanged master.cf,
// stock daemons) with qmgr.so installed in its plugin directory, so that the
// `qmgr unix n - n 300 1 qmgr` line resolves to our plugin; proof that the
// running queue manager is our plugin worker and not stock's executable;
// the verified stock postqueue; and queue and log helpers.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

enum QmgrPluginEnv {
    /// libqmgr.so built beside the master under test.
    static var builtPlugin: String { TestEnv.builtPlugin("qmgr") }

    /// Debian's master.cf line for qmgr, as `postconf -M` prints it.
    static let debianQmgrLine = ["qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"]

    /// Stock postqueue(1), checked against the package's checksums.
    static func postqueue() throws -> String {
        try StockBinaries.verifiedInPlace("/usr/sbin/postqueue", runs: StockBinaries.libraries)
    }
}

class QmgrPluginTestCase: InstanceTestCase {
    /// Sinks to stop after the test.
    var sinks: [ScriptedSink] = []

    override func tearDown() {
        sinks.forEach { $0.stop() }
        sinks = []
        super.tearDown()
    }

    func makeSink(port: Int = 0, _ configure: (inout ScriptedSink.Script) -> Void = { _ in }) throws -> ScriptedSink {
        var script = ScriptedSink.Script()
        configure(&script)
        let sink = try ScriptedSink(port: port, script: script)
        sinks.append(sink)
        return sink
    }

    /// Stops `sink` and listens on its port with a sink that accepts every
    /// recipient. The port is free once smtp's cached session to the old
    /// sink has ended, so binding is retried for a while.
    func replaceWithAcceptingSink(_ sink: ScriptedSink) throws -> ScriptedSink {
        sink.stop()
        var replacement: ScriptedSink?
        waitUntil(timeout: 30, interval: 0.5) {
            replacement = try? self.makeSink(port: sink.port)
            return replacement != nil
        }
        return try XCTUnwrap(replacement, "cannot listen on \(sink.port) again")
    }

    /// An instance with our master and our qmgr.so, `parameters` (and
    /// those `prepare` returns after writing its files) set in main.cf,
    /// started; fails unless the qmgr line is Debian's and resolves to the plugin.
    func startQmgrInstance(relayPort: Int? = nil, parameters: [String] = [],
                           prepare: (PrivateInstance) throws -> [String] = { _ in [] }) throws -> PrivateInstance {
        let inst = try makeInstance(relayPort: relayPort)
        try installQmgrPlugin(inst)
        let settings = parameters + (try prepare(inst))
        if !settings.isEmpty { try postconf(inst, ["-e"] + settings) }
        let line = try postconf(inst, ["-M", "qmgr/unix"]).split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        XCTAssertEqual(line, QmgrPluginEnv.debianQmgrLine, "master.cf's qmgr line must be Debian's")
        try inst.start()
        XCTAssertNotNil(inst.waitForLog("command qmgr resolves to plugin \(inst.libexec)/qmgr.so", timeout: 10),
                        "the qmgr line did not resolve to the plugin")
        try assertPluginQmgr(inst)
        return inst
    }

    func installQmgrPlugin(_ inst: PrivateInstance) throws {
        try inst.installPlugin(QmgrPluginEnv.builtPlugin, as: "qmgr")
    }

    @discardableResult
    func postconf(_ inst: PrivateInstance, _ args: [String]) throws -> String {
        let r = try runCommand("/usr/sbin/postconf", ["-c", inst.etc] + args, timeout: 30)
        guard r.status == 0 else { throw HarnessError("postconf \(args): \(r.output)") }
        return r.output
    }

    /// The master's child that has qmgr.so mapped, within 15 s.
    func qmgrWorker(_ inst: PrivateInstance) -> pid_t? {
        var found: pid_t?
        waitUntil(timeout: 15, interval: 0.2) {
            found = inst.children().first { pid in
                let maps = (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
                return maps.contains(inst.libexec + "/qmgr.so")
            }
            return found != nil
        }
        return found
    }

    /// The queue manager is a plugin worker: a fork of our master with
    /// qmgr.so loaded, and no stock qmgr process runs.
    func assertPluginQmgr(_ inst: PrivateInstance, file: StaticString = #filePath, line: UInt = #line) throws {
        let worker = try XCTUnwrap(qmgrWorker(inst), "no process of the instance has qmgr.so loaded", file: file, line: line)
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(worker)/exe")
        XCTAssertEqual(URL(fileURLWithPath: exe).resolvingSymlinksInPath().path,
                       URL(fileURLWithPath: inst.libexec + "/master").resolvingSymlinksInPath().path,
                       "the qmgr worker must be our master's fork", file: file, line: line)
        let stock = inst.children().filter { pid in
            ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "")
                .hasSuffix("/usr/lib/postfix/sbin/qmgr")
        }
        XCTAssertEqual(stock, [], "stock qmgr must not run", file: file, line: line)
    }

    /// Queue files (relative paths) in one queue.
    func files(_ inst: PrivateInstance, in queue: String) -> [String] {
        let base = inst.queue + "/" + queue
        guard let e = FileManager.default.enumerator(atPath: base) else { return [] }
        return e.compactMap { $0 as? String }.filter { name in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: base + "/" + name, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    /// Submits with stock sendmail; the queue ID is taken from the log.
    func submit(_ inst: PrivateInstance, to recipient: String, subject: String) throws {
        let r = try inst.sendmail(to: recipient, body: "Subject: \(subject)\n\nbody of \(subject)\n")
        XCTAssertEqual(r.status, 0, "sendmail: \(r.output)")
    }

    /// Our qmgr's log lines (postfix/qmgr[pid]: ...).
    func qmgrLines(_ inst: PrivateInstance, since mark: Int = 0) -> [String] {
        inst.logLines(since: mark, containing: "postfix/qmgr[")
    }
}
