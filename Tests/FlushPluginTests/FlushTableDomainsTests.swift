// FlushTableDomainsTests.swift - fast_flush_domains through a lookup table,
// with our flush.so (chrooted, as Debian's line says) and our qmgr.so:
// - relay_domains = proxy:hash:<file> (built with stock postmap), approved
//   in proxy_read_maps, fast_flush_domains = $relay_domains: our flush
//   looks the table up through the instance's stock proxymap; stock smtp's
//   add logs a.example's deferred mail and ETRN (stock smtpd) delivers it;
//   a listed subdomain (parent style, the default) and an unlisted domain
//   are answered by our server as stock flush answers them (compared with
//   an all-stock instance); a table proxymap refuses, and a proxymap that
//   cannot be reached, are lookup errors naming the table, never a silent
//   non-match;
// - relay_domains = hash:<file>, not approved for proxymap (stock's
//   default): read before the jail as stock reads it, so the add of mail
//   the queue manager defers itself, and ETRN, work as on an all-stock
//   instance;
// - fast_flush_domains = regexp:, !cidr: and a missing regexp: table,
//   none approved for proxymap: opened before the jail as stock opens
//   them, so our chrooted flush answers send_site (ok, deny, and fail at
//   the missing table, with the error logged) as stock flush does, and
//   warns as stock does about a site name that is not UTF-8, which each
//   table's UTF-8 layer skips (the missing table's too, so the list does
//   not match: deny).
import Foundation
import XCTest
import MailQueue
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class FlushTableDomainsTests: FlushPluginTestCase {
    func testDomainsFromAProxyTable() throws {
        let names = ["a.example", "d.example"]
        let destinations = try Destinations(names)
        let table = try makeTable(["a.example", "b.example"], tag: destinations.ports["a.example"]!)
        var parameters = deferringParameters(destinations, fastFlushDomains: ["$relay_domains"])
        parameters["relay_domains"] = "proxy:hash:" + table
        // Stock's default list, which smtpd needs, plus the table.
        let defaults = try runCommand("/usr/sbin/postconf", ["-dh", "proxy_read_maps"], timeout: 30).output
        parameters["proxy_read_maps"] = defaults.trimmingCharacters(in: .whitespacesAndNewlines) + " proxy:hash:" + table

        let ours = try startPluginInstance(parameters, ourQmgr: true)
        try submit(ours, to: "user@a.example")
        XCTAssertTrue(waitDeferred(ours, count: 1, domains: ["a.example"]), "mail did not defer:\n\(ours.logTail(40))")
        try assertPluginFlush(ours)
        XCTAssertTrue(waitUntil(timeout: 10) { loggedIDs(ours, "a_example") == loggedDeferrals(ours, domain: "a.example") },
                      "flush/a_example must list a.example's deferred mail: \(flushLog(ours, "a_example") ?? "absent")")
        let sink = try startSink(port: destinations.ports["a.example"]!)
        let ourAnswers = try answers(ours)
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { sink.messages.count == 1 && deferredIDs(ours).isEmpty },
                      "ETRN a.example did not deliver its mail\n\(ours.logTail(30))")
        XCTAssertEqual(ourAnswers, ["ETRN a.example": "250", "ETRN d.example": "459",
                                    "send_site host.b.example": "ok", "send_site d.example": "deny"])
        XCTAssertEqual(ours.logLines(containing: "postfix/flush[").filter { $0.contains("warning") || $0.contains("fatal") }, [])
        try assertLookupErrors(ours, table: table)

        let stock = try startStockInstance(parameters)
        XCTAssertEqual(try answers(stock), ourAnswers, "stock flush answers the same requests")
    }

    /// A plain "hash:" relay_domains (stock's default proxy_read_maps, which
    /// does not approve it for proxymap) with fast_flush_domains =
    /// $relay_domains: stock flush and qmgr open the table before the jail,
    /// and so do ours (postmap -s in PRE_INIT), with both chrooted. Mail the
    /// queue manager itself defers is added to flush/a_example by our qmgr,
    /// our chrooted flush answers ETRN with 250 and the mail is delivered,
    /// as on an all-stock instance.
    func testPlainHashTableIsReadBeforeTheJail() throws {
        let destinations = try Destinations(["a.example"])
        let port = destinations.ports["a.example"]!
        let table = try makeTable(["a.example"], tag: port)
        var parameters = deferringParameters(destinations, fastFlushDomains: ["$relay_domains"])
        parameters["relay_domains"] = "hash:" + table
        // a.example's transport, and the retry transport, have no service
        // (master.cf lacks them): the queue manager must defer the mail itself.
        parameters["transport_maps"] = "inline:{a.example=later:[127.0.0.1]:\(port)}"
        // Our qmgr chrooted too (Debian's line has it off): it must read the
        // table before the jail as well, as stock qmgr's pre-jail init does.
        let ours = try startPluginInstance(parameters, masterCf: ["qmgr/unix/chroot = y"], ourQmgr: true, withoutRetry: true)
        try qmgrDefers(ours)
        // Before the reload, which ends the worker that served the add.
        try assertPluginFlush(ours)
        try repairAndFlush(ours, port: port)
        XCTAssertEqual(ours.logLines(containing: "warning").filter { $0.contains("postfix/flush[") || $0.contains("table") }, [],
                       "no lookup problem")
        XCTAssertEqual(ours.logLines(containing: "service failure"), [], "the qmgr's add must not fail")
        sinks.forEach { $0.stop() }
        sinks = []
        let stock = try startStockInstance(parameters, withoutRetry: true)
        try qmgrDefers(stock)
        try repairAndFlush(stock, port: port)
    }

    /// Pattern tables in fast_flush_domains under stock's default
    /// proxy_read_maps: stock flush opens them in its pre-jail
    /// initialisation (the missing one as a table whose lookups fail, with
    /// an error logged at start), and so does our chrooted flush.
    func testPatternTablesAreOpenedBeforeTheJail() throws {
        let dir = NSTemporaryDirectory() + "flush-patterns-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try "/^(a|b)\\.example$/ OK\n".write(toFile: dir + "/flush.re", atomically: true, encoding: .utf8)
        try "127.0.0.0/8 loopback\n".write(toFile: dir + "/flush.cidr", atomically: true, encoding: .utf8)
        let missing = dir + "/missing.re"
        let parameters = ["fast_flush_domains": "regexp:\(dir)/flush.re, !cidr:\(dir)/flush.cidr, regexp:\(missing)"]

        try "/./ any\n".write(toFile: dir + "/any.re", atomically: true, encoding: .utf8)
        let anySite = try DomainList(parameter: "test", value: "regexp:\(dir)/any.re", parentStyle: false, utf8: false)
            .loadingLocalTables(postmap: "/usr/sbin/postmap", configDirectory: dir)

        let ours = try startPluginInstance(parameters)
        let ourAnswers = try siteAnswers(ours, anySite: anySite)
        // The flush service starts on demand: after the requests, while its worker idles.
        try assertPluginFlush(ours)
        XCTAssertEqual(ourAnswers, ["a.example": "ok", "b.example": "ok", "127.0.0.1": "deny", "c.example": "fail",
                                    "a\u{FFFD}.example": "deny"])
        // Logging goes through postlogd or syslog: a line may come a little after the answers.
        XCTAssertTrue(waitUntil(timeout: 10) {
            !ours.logLines(containing: "postfix/flush[").filter { $0.contains("error: open \(missing): No such file") }.isEmpty
        }, "the table that cannot be opened is logged at start:\n\(ours.logTail(20))")
        XCTAssertTrue(waitUntil(timeout: 10) {
            !ours.logLines(containing: "fast_flush_domains: regexp:\(missing): table lookup problem").isEmpty
        }, ours.logTail(20))

        let stock = try startStockInstance(parameters)
        XCTAssertEqual(try siteAnswers(stock, anySite: anySite), ourAnswers, "stock flush answers the same requests")
        XCTAssertTrue(waitUntil(timeout: 10) {
            !stock.logLines(containing: "fast_flush_domains: regexp:\(missing): table lookup problem").isEmpty
        }, stock.logTail(20))
        // The same warnings, worded as stock's: the table's own line, then the list's.
        let warnings = { (inst: PrivateInstance) in
            Set(inst.logLines(containing: "postfix/flush[").compactMap { line in
                line.range(of: "warning: ").map { String(line[$0.lowerBound...]) }
            })
        }
        let notUTF8 = "non-UTF-8 key \"a?.example\": malformed UTF-8 or invalid codepoint"
        for inst in [ours, stock] {
            XCTAssertTrue(waitUntil(timeout: 30) {
                let seen = warnings(inst)
                return seen.contains("warning: cidr:\(dir)/flush.cidr: " + notUTF8) && seen.contains("warning: regexp:\(missing): " + notUTF8)
            }, inst.logTail(20))
        }
        XCTAssertEqual(warnings(ours), warnings(stock))
        XCTAssertEqual(warnings(stock), ["warning: regexp:\(missing) is unavailable. open \(missing): No such file or directory",
                                         "warning: fast_flush_domains: regexp:\(missing): table lookup problem",
                                         "warning: regexp:\(dir)/flush.re: " + notUTF8,
                                         "warning: cidr:\(dir)/flush.cidr: " + notUTF8,
                                         // Checked before the table that could not be opened fails.
                                         "warning: regexp:\(missing): " + notUTF8])
    }

    /// The flush server's send_site answers for sites the client side does
    /// not filter, and for one that is not UTF-8 ("a", 0xE9, ".example"),
    /// sent by a client whose list (`anySite`, UTF-8 checks off) lets it through.
    private func siteAnswers(_ inst: PrivateInstance, anySite: DomainList) throws -> [String: String] {
        let sites = ["a.example", "b.example", "127.0.0.1", "c.example"]
        let client = try flushClient(inst, sites: sites)
        var out: [String: String] = [:]
        for site in sites { out[site] = "\(client.sendSite(ByteString(site)))" }
        let notUTF8 = ByteString([0x61, 0xE9] + Array(".example".utf8))
        let anyClient = FlushClient(queueDirectory: inst.queue, domains: anySite, timeout: 30)
        out[String(decoding: notUTF8.bytes, as: UTF8.self)] = "\(anyClient.sendSite(notUTF8))"
        return out
    }

    /// The queue manager defers user@a.example itself; defer_append's add
    /// puts the queue ID in flush/a_example.
    private func qmgrDefers(_ inst: PrivateInstance) throws {
        try submit(inst, to: "user@a.example")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) {
            deferredIDs(inst).count == 1
                && deferralLines(inst, domain: "a.example").contains { $0.contains("postfix/qmgr[") }
        }, "the queue manager did not defer the mail:\n\(inst.logTail(40))")
        XCTAssertTrue(waitUntil(timeout: 10) { loggedIDs(inst, "a_example") == deferredIDs(inst) },
                      "flush/a_example must list the deferred mail: \(flushLog(inst, "a_example") ?? "absent")\n\(inst.logTail(20))")
    }

    /// Once master.cf has working agents again (reload), ETRN a.example
    /// answers 250 and delivers the deferred mail.
    private func repairAndFlush(_ inst: PrivateInstance, port: Int) throws {
        try postconf(inst.etc, ["-M", "later/unix = later unix - - n - - smtp", "retry/unix = retry unix - - n - - error"])
        let reload = try inst.postfix("reload")
        XCTAssertEqual(reload.status, 0, reload.output)
        // postfix reload only signals the master: until it has made the new
        // services' sockets, the qmgr would defer the flushed mail once more
        // (and not retry it within the test's time).
        XCTAssertTrue(waitUntil(timeout: 30) {
            ["later", "retry"].allSatisfy { access(inst.queue + "/private/" + $0, F_OK) == 0 }
        }, "the reload made no private/later and private/retry\n\(inst.logTail(20))")
        let sink = try startSink(port: port)
        let session = try SMTPSession(port: inst.smtpPort)
        defer { session.close() }
        try session.expect("220", after: nil)
        try session.expect("250", after: "EHLO client.example")
        try session.expect("250", after: "ETRN a.example")
        try session.expect("221", after: "QUIT")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { sink.messages.count == 1 && deferredIDs(inst).isEmpty },
                      "ETRN a.example did not deliver the mail\n\(inst.logTail(30))")
    }

    /// The answers of stock smtpd's ETRN, and of the flush server itself for
    /// sites the client side does not filter.
    private func answers(_ inst: PrivateInstance) throws -> [String: String] {
        do { return try askedAnswers(inst) } catch { throw HarnessError("\(error)\n\(inst.logTail(30))") }
    }

    private func askedAnswers(_ inst: PrivateInstance) throws -> [String: String] {
        let session = try SMTPSession(port: inst.smtpPort)
        defer { session.close() }
        var out: [String: String] = [:]
        try session.expect("220", after: nil)
        try session.expect("250", after: "EHLO client.example")
        // SMTPSession checks a reply's code; a different one is a thrown error naming it.
        for (site, code) in [("a.example", "250"), ("d.example", "459")] {
            try session.expect(code, after: "ETRN " + site)
            out["ETRN " + site] = code
        }
        try session.expect("221", after: "QUIT")
        let client = try flushClient(inst, sites: ["host.b.example", "d.example"])
        for site in ["host.b.example", "d.example"] {
            out["send_site " + site] = "\(client.sendSite(ByteString(site)))"
        }
        return out
    }

    /// Lookups through the instance's proxymap as match_hostname makes them
    /// (parent domains, negation); a table proxymap does not serve, and a
    /// proxymap that is not there, make the list's answer an error naming
    /// the table.
    private func assertLookupErrors(_ inst: PrivateInstance, table: String) throws {
        let refused = try DomainList(parameter: "fast_flush_domains", value: "hash:\(table)-unapproved", parentStyle: true)
        guard case .error(let why, let detail) = refused.match("a.example", tables: ProxymapClient(queueDirectory: inst.queue, timeout: 30)) else {
            return XCTFail("a table proxymap refuses must be a lookup error")
        }
        XCTAssertEqual(why, "fast_flush_domains: hash:\(table)-unapproved: table lookup problem")
        XCTAssertTrue(detail?.contains("not configured") == true, detail ?? "no detail")
        let list = try DomainList(parameter: "fast_flush_domains", value: "hash:\(table)", parentStyle: true)
        let tables = ProxymapClient(queueDirectory: inst.queue, timeout: 30)
        XCTAssertEqual(list.match("a.example", tables: tables), .match)
        XCTAssertEqual(list.match("x.host.B.example", tables: tables), .match, "parent style: b.example covers its subdomains")
        XCTAssertEqual(list.match("c.example", tables: tables), .noMatch)
        let negated = try DomainList(parameter: "fast_flush_domains", value: "!hash:\(table) example", parentStyle: true)
        XCTAssertEqual(negated.match("host.a.example", tables: tables), .noMatch, "a negated table decides first")
        XCTAssertEqual(negated.match("c.example", tables: tables), .match)
        let plain = try DomainList(parameter: "fast_flush_domains", value: "hash:\(table)", parentStyle: false)
        XCTAssertEqual(plain.match("host.b.example", tables: tables), .noMatch,
                       "without parent style only \".b.example\" would cover subdomains")
        guard case .error(let unreachable, let detail) = list.match("a.example", tables: ProxymapClient(queueDirectory: inst.dir + "/nowhere")) else {
            return XCTFail("an unreachable proxymap must be a lookup error")
        }
        XCTAssertTrue(unreachable.contains("hash:\(table)"), unreachable)
        XCTAssertTrue(detail?.contains("private/proxymap") == true, detail ?? "no detail")
    }

    /// `<temporary dir>/relay_domains` and its .db, built by stock postmap.
    private func makeTable(_ domains: [String], tag: Int) throws -> String {
        let dir = NSTemporaryDirectory() + "flush-table-\(getpid())-\(tag)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/relay_domains"
        try domains.map { $0 + " OK\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
        // postmap wants a configuration directory: an empty main.cf (defaults) beside the table.
        try "".write(toFile: dir + "/main.cf", atomically: true, encoding: .utf8)
        let postmap = try runCommand("/usr/sbin/postmap", ["-c", dir, "hash:" + file], timeout: 30)
        guard postmap.status == 0 else { throw HarnessError("postmap \(file): \(postmap.output)") }
        chmod(file + ".db", 0o644)
        return file
    }
}
