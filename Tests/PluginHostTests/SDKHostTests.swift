// SDKHostTests.swift - the Swift SDK against the real host: the probe plugin
// (Plugins/Probe) runs under our master in a private instance and records
// what the host functions (Sources/Worker/HostFunctions.swift) give
// it through the SDK: typed parameters with -o overrides, $name expansion
// and defaults, the service name and type, the master.cf arguments; its log
// records in the instance's real log; triggers delivered to it and sent by
// it; a Swift error in INIT and in TRIGGER, a fatal and an orderly exit; and
// the ABI 1.1 additions (watches with masks, timers, loop hook, checked
// parameters, declare) in the trigger model.
// Needs root and the postfix package: fails, never skips.
import Foundation
import XCTest
import TestSupport
import Glibc

final class SDKHostTests: PluginTestCase {
    /// Longer than the SDK's first string buffer (256 bytes): the retry path.
    static let long = String(repeating: "0123456789", count: 100)

    /// An instance with the probe installed, main.cf settings for it, and
    /// `services` (master.cf lines, DIR standing for the instance) appended.
    func probeInstance(_ services: String) throws -> PrivateInstance {
        let inst = try makeInstance()
        try inst.installSwiftPlugins()
        try inst.appendMainCf("""
            probe_base = base-$mail_owner
            probe_override = from-main.cf
            probe_empty =
            probe_long = \(Self.long)
            probe_time = 2m
            probe_bool_no = no
            """)
        try inst.appendMasterCf(services.replacingOccurrences(of: "DIR", with: inst.dir))
        try inst.start()
        let query = try runCommand(try StockBinaries.postconf(), ["-c", inst.etc, "-h", "mynetworks"])
        XCTAssertEqual(query.status, 0, "stock postconf -h mynetworks: \(query.output)")
        // Its first line; stock's unused-parameter warnings for the probe's settings follow.
        Self.mynetworks = String(query.output.split(separator: "\n").first ?? "")
        return inst
    }

    /// Sends `data` as one trigger to a unix service, as mail_trigger does.
    func trigger(_ inst: PrivateInstance, _ service: String, _ data: String) throws {
        var fd: Int32? = nil
        waitUntil(timeout: 10) { fd = UnixSocket.connect(inst.socket(service)); return fd != nil }
        let connected = try XCTUnwrap(fd, "connect \(inst.socket(service))")
        defer { close(connected) }
        XCTAssertTrue(Wire.send(connected, data), "trigger to \(service)")
    }

    /// The report's lines once one of them is `needle` (bounded wait).
    func report(_ path: String, containing needle: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        var lines: [String] = []
        let seen = waitUntil(timeout: 15, interval: 0.1) {
            lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return lines.contains(needle)
        }
        XCTAssertTrue(seen, "no \"\(needle)\" in \(path): \(lines)", file: file, line: line)
        return lines
    }

    static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }

    /// What the probe records at INIT, given the service's own answers.
    /// The instance's computed mynetworks default, as stock postconf says it
    /// (a plugin must get it, not its own fallback).
    static var mynetworks = ""

    static func observations(string: String = "dflt", override: String = "from-main.cf", expanded: String = "dflt",
                             dollar: String = "dflt", int: Int = -1, bool: Bool = false, time: Int = 120, maxIdle: Int = 100,
                             name: String, type: String, arguments: [String] = []) -> [String] {
        [
            "string probe_string=\(string)", "string probe_override=\(override)", "string probe_expanded=\(expanded)",
            "string probe_dollar=\(dollar)", "string probe_empty=", "string probe_long=\(long)",
            "string probe_unset=défaut ünïcode", "string mail_owner=postfix", "string mynetworks=\(mynetworks)",
            "int probe_int=\(int)", "int probe_int_unset=-5", "int default_process_limit=100",
            "bool probe_bool=\(bool)", "bool probe_bool_no=false", "bool probe_bool_unset=true",
            "time probe_time=\(time)", "time probe_time_unset=7200", "time max_idle=\(maxIdle)",
            "service_name=\(name)", "service_type=\(type)",
        ] + arguments.enumerated().map { "arg\($0.offset)=\($0.element)" }
    }

    // MARK: parameters, arguments, service

    func testPluginSeesParametersArgumentsAndServiceAsTheMasterGivesThem() throws {
        let port = try Net.freePort()
        let inst = try probeInstance("""
            probe1 unix - n n - 1 probe -o probe_report=DIR/probe1.report -o probe_string=hello
              -o probe_override=from-master.cf -o { probe_expanded = ${probe_base}:$service_name:$process_name }
              -o probe_dollar=$$literal -o probe_int=42 -o probe_bool=yes -o probe_time=3h
              alpha { b c } $myhostname -o probe_late=1 last
            probe2 fifo - n n - 1 probe -o probe_report=DIR/probe2.report
            127.0.0.1:\(port) inet n n n - 1 probe -o probe_report=DIR/probe3.report -o max_idle=7s
            """)

        try trigger(inst, "probe1", "one")
        let unix = report(inst.dir + "/probe1.report", containing: "trigger " + Self.hex("one"))
        // PRE_INIT ran before INIT, as root (the worker runs as mail_owner after).
        XCTAssertEqual(try String(contentsOfFile: inst.dir + "/probe1.report.pre", encoding: .utf8), "pre_init euid=0\n")
        XCTAssertEqual(unix, Self.observations(string: "hello", override: "from-master.cf",
                                               expanded: "base-postfix:probe1:probe", dollar: "$literal",
                                               int: 42, bool: true, time: 10800, name: "probe1", type: "unix",
                                               arguments: ["alpha", "b c", "$myhostname", "last"])
                       + ["trigger " + Self.hex("one")])

        let fifo = open(inst.socket("probe2"), O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fifo, 0, "open the probe2 fifo: \(String(cString: strerror(errno)))")
        XCTAssertTrue(Wire.send(fifo, "two"))
        close(fifo)
        XCTAssertEqual(report(inst.dir + "/probe2.report", containing: "trigger " + Self.hex("two")),
                       Self.observations(name: "probe2", type: "fifo") + ["trigger " + Self.hex("two")])

        guard case .connected(let inet) = Net.connect(port: port) else { return XCTFail("connect 127.0.0.1:\(port)") }
        XCTAssertTrue(Wire.send(inet, "three"))
        close(inet)
        XCTAssertEqual(report(inst.dir + "/probe3.report", containing: "trigger " + Self.hex("three")),
                       Self.observations(maxIdle: 7, name: "127.0.0.1:\(port)", type: "inet") + ["trigger " + Self.hex("three")])

        // INIT's own log line, under the worker's syslog name and command.
        XCTAssertNotNil(inst.waitForLog("postfix/probe[", "]: probe: ready on probe1/unix"))
    }

    // MARK: logging

    func testLogRecordsReachTheRealLogWithLevelsAndSwiftLogMetadata() throws {
        let inst = try probeInstance("""
            probe1 unix - n n - 1 probe -o probe_report=DIR/probe1.report -o syslog_name=postfix/$service_name
            """)
        try trigger(inst, "probe1", "log")
        _ = report(inst.dir + "/probe1.report", containing: "trigger " + Self.hex("log"))
        XCTAssertNotNil(inst.waitForLog("probe: labelled", timeout: 10), "the last record never arrived")
        // "postfix/probe1/probe[PID]: text" -> "postfix/probe1/probe: text"
        let records = inst.logLines(containing: "/probe[").map { line -> String in
            let tag = line.split(separator: " ").first { $0.contains("/probe[") } ?? ""
            let text = line.components(separatedBy: "]: ").dropFirst().joined(separator: "]: ")
            return tag.prefix { $0 != "[" } + ": " + text
        }
        let tag = "postfix/probe1/probe: "
        XCTAssertEqual(records, [
            tag + "probe: ready on probe1/unix",
            tag + "probe: info line",
            tag + "warning: probe: warning line",
            tag + "error: probe: error line",
            tag + "probe: swift-log debug service=probe1",
            tag + "probe: swift-log notice service=probe1",
            tag + "warning: probe: swift-log warning attempt=2 client=127.0.0.1 service=probe1",
            tag + "error: probe: swift-log error service=probe1",
            tag + "error: probe: swift-log critical service=probe1",
            tag + "policy: probe: labelled",
        ])
    }

    /// A record's control characters become "?", UTF-8 stays, as stock's
    /// msg_output makes every record printable (PrintableTextTests compares
    /// the rule with stock's own function); with smtputf8_enable off (here
    /// by -o, as a stock daemon takes it) non-ASCII bytes become "?" too.
    /// A tab or newline in a logged value cannot split or garble a line.
    func testRecordsAreMadePrintableAsStockMakesThem() throws {
        let inst = try probeInstance("""
            probe1 unix - n n - 1 probe -o probe_report=DIR/probe1.report -o smtputf8_enable=yes
            probe2 unix - n n - 1 probe -o probe_report=DIR/probe2.report -o smtputf8_enable=no
            """)
        for service in ["probe1", "probe2"] {
            try trigger(inst, service, "say \(service) a\tb\nc\u{1}d ä end")
            XCTAssertNotNil(inst.waitForLog("probe: said \(service)", timeout: 10), "\(service): no record")
        }
        let said = inst.logLines(containing: "probe: said").map { $0.components(separatedBy: "]: ").dropFirst().joined(separator: "]: ") }
        XCTAssertEqual(said.sorted(), ["probe: said probe1 a?b?c?d ä end", "probe: said probe2 a?b?c?d ?? end"])
    }

    /// A worker that has dropped privileges cannot append to maillog_file,
    /// so when postlogd's queue is full (the kernel keeps only
    /// net.unix.max_dgram_qlen datagrams) its records must wait for room, as
    /// a stock daemon's do, not be dropped.
    func testAFloodOfRecordsFromAnUnprivilegedWorkerLosesNone() throws {
        let inst = try probeInstance("""
            probe1 unix - - n - 1 probe -o probe_report=DIR/probe1.report
            """)
        let count = 3000
        try trigger(inst, "probe1", "flood \(count)")
        XCTAssertNotNil(inst.waitForLog("probe: flood \(count) of \(count)", timeout: 60), "the last record never arrived")
        let seen = Set(inst.logLines(containing: "probe: flood ").compactMap { line in
            line.components(separatedBy: "probe: flood ").last.flatMap { Int($0.split(separator: " ").first ?? "") }
        })
        XCTAssertEqual(seen.count, count, "records lost: \(Set(1...count).subtracting(seen).sorted().prefix(10))...")
    }

    // MARK: triggers, errors, exits

    func testTriggersSentAndDeliveredErrorsFatalAndOrderlyExit() throws {
        let inst = try probeInstance("""
            probe1 unix - n n - 1 probe -o probe_report=DIR/probe1.report
            probe2 unix n n n - 1 probe -o probe_report=DIR/probe2.report
            probe3 fifo - n n - 1 probe -o probe_report=DIR/probe3.report
            probe4 unix - n n - 1 probe
            """)
        let first = inst.dir + "/probe1.report"
        // send_trigger to a public and a private unix service and a fifo.
        for (service, data) in [("public/probe2", "to-public"), ("private/probe3", "to-fifo"),
                                ("private/nosuchservice", "nowhere")] {
            try trigger(inst, "probe1", "send \(service) \(data)")
            _ = report(first, containing: "trigger " + Self.hex("send \(service) \(data)"))
        }
        let sent = report(first, containing: "sent private/nosuchservice failed: cannot send trigger to private/nosuchservice")
        XCTAssertEqual(sent.filter { $0.hasPrefix("sent ") }, [
            "sent public/probe2 ok", "sent private/probe3 ok",
            "sent private/nosuchservice failed: cannot send trigger to private/nosuchservice"])
        XCTAssertEqual(report(inst.dir + "/probe2.report", containing: "trigger " + Self.hex("to-public")).last,
                       "trigger " + Self.hex("to-public"))
        XCTAssertEqual(report(inst.dir + "/probe3.report", containing: "trigger " + Self.hex("to-fifo")).last,
                       "trigger " + Self.hex("to-fifo"))

        // A Swift error is logged by the SDK; the worker goes on serving.
        let mark = inst.logMark()
        try trigger(inst, "probe1", "throw")
        XCTAssertNotNil(inst.waitForLog("postfix/probe[", "error: probe: trigger: probe: thrown on request", since: mark, timeout: 10))
        try trigger(inst, "probe1", "after-throw")
        _ = report(first, containing: "trigger " + Self.hex("after-throw"))
        let workers = inst.children().filter { Proc.comm($0) == "probe" }
        XCTAssertEqual(workers.count, 3, "one probe worker per service: \(workers)")

        // An INIT that throws: the SDK logs the error, the host ends the worker.
        try trigger(inst, "probe4", "never-seen")
        XCTAssertNotNil(inst.waitForLog("postfix/probe[", "error: probe: init: probe_report must be an absolute path, not \"\"",
                                        since: mark, timeout: 10))
        XCTAssertNotNil(inst.waitForLog("postfix/probe[", "fatal: probe: plugin initialization failed (status -1)",
                                        since: mark, timeout: 10))

        // Orderly exit runs PRE_EXIT first; fatal logs and ends the process with status 1.
        try trigger(inst, "probe1", "exit")
        XCTAssertEqual(report(first, containing: "pre_exit").suffix(2), ["trigger " + Self.hex("exit"), "pre_exit"])
        try trigger(inst, "probe1", "fatal")
        XCTAssertNotNil(inst.waitForLog("postfix/probe[", "fatal: probe: fatal on request", since: mark, timeout: 10))
        XCTAssertNotNil(inst.waitForLog("process ", "probe", "exit status 1", since: mark, timeout: 10),
                        "the master did not see the fatal worker exit with status 1")
        XCTAssertEqual(report(first, containing: "trigger " + Self.hex("fatal")).last, "trigger " + Self.hex("fatal"),
                       "fatal is not an orderly exit: no PRE_EXIT")
    }

    // MARK: malformed values (fails until HostFunctions is fatal on them)

    /// A Postfix daemon stops with a fatal error naming the parameter when a
    /// value is malformed (get_mail_conf_int/_bool/_time, dict_eval); the
    /// host's typed lookups must do the same for a plugin, instead of
    /// handing it its default (or -1 for a time) as if nothing were wrong.
    func testMalformedParameterValuesAreFatalNamingTheParameter() throws {
        let cases: [(option: String, fatal: String)] = [
            ("probe_int=5x", "fatal: bad numerical configuration: probe_int = 5x"),
            ("probe_bool=maybe", "fatal: bad boolean configuration: probe_bool = maybe"),
            ("probe_time=5x", "fatal: parameter probe_time: bad time value or unit: 5x"),
            ("probe_string=a$", "fatal: dictionary mail_dict: macro processing error"),
        ]
        let inst = try probeInstance(cases.enumerated().map { index, c in
            "bad\(index) unix - n n - 1 probe -o probe_report=DIR/bad\(index).report -o \(c.option)"
        }.joined(separator: "\n"))
        for (index, c) in cases.enumerated() {
            let mark = inst.logMark()
            try trigger(inst, "bad\(index)", "x")
            XCTAssertNotNil(inst.waitForLog("postfix/probe[", c.fatal, since: mark, timeout: 10),
                            "-o \(c.option): no \"\(c.fatal)\":\n\(inst.log(since: mark))")
            XCTAssertFalse(FileManager.default.fileExists(atPath: inst.dir + "/bad\(index).report"),
                           "-o \(c.option): the plugin went on with a value it never asked for")
        }
    }

    /// The ABI promises send_trigger to "a master.cf inet name" too.
    func testTriggerToAnInetServiceName() throws {
        let port = try Net.freePort()
        let inst = try probeInstance("""
            probe1 unix - n n - 1 probe -o probe_report=DIR/probe1.report
            127.0.0.1:\(port) inet n n n - 1 probe -o probe_report=DIR/probe2.report
            """)
        try trigger(inst, "probe1", "send 127.0.0.1:\(port) to-inet")
        XCTAssertTrue(report(inst.dir + "/probe1.report", containing: "trigger " + Self.hex("send 127.0.0.1:\(port) to-inet"))
            .contains("sent 127.0.0.1:\(port) ok"))
        XCTAssertEqual(report(inst.dir + "/probe2.report", containing: "trigger " + Self.hex("to-inet")).last,
                       "trigger " + Self.hex("to-inet"))
    }
    /// ABI 1.1 through the SDK, in the probe's trigger model: watch and
    /// setWatchMask see write, read and hang-up; a started timer runs, a
    /// cancelled one never; the loop hook runs; checked() throws stock's
    /// complaint; declare() succeeds under a process limit of 1.
    func testABI11EventsTimersLoopHookCheckedAndDeclare() throws {
        let inst = try probeInstance("""
            probe1 unix - n n - 1 probe -o probe_report=DIR/probe1.report -o probe_short=5s -o probe_minute=1m
            """)
        let path = inst.dir + "/probe1.report"
        try trigger(inst, "probe1", "events")
        let events = report(path, containing: "timer ran")
        XCTAssertEqual(report(path, containing: "watch hangup=5").filter { $0.hasPrefix("watch ") },
                       ["watch write=2", "watch read=1", "watch hangup=5"])
        XCTAssertTrue(events.contains("cancel true false"), "\(events)")
        try trigger(inst, "probe1", "hook")
        var calls: Int?
        waitUntil(timeout: 15, interval: 0.1) {
            calls = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
                .last { $0.hasPrefix("hook ") }.flatMap { Int($0.dropFirst(5)) }
            return calls != nil
        }
        XCTAssertGreaterThan(calls ?? 0, 0, "the loop hook never ran")
        try trigger(inst, "probe1", "checked probe_short")
        _ = report(path, containing: "checked probe_short failed: invalid probe_short: 5 (min 10)")
        try trigger(inst, "probe1", "checked probe_minute")
        _ = report(path, containing: "checked probe_minute=60")
        try trigger(inst, "probe1", "declare")
        XCTAssertFalse(report(path, containing: "declared ok").contains("timer cancelled ran"), "a cancelled timer ran")
    }
}
