// DomainListTests.swift - fast_flush_domains as MailQueue's DomainList reads
// it (the flush plugin on the server side, FlushClient for the qmgr's
// defer_append on the client side), and FlushClient's answers that need
// no server: stock's domain_list rules for names, ".name", parent style,
// "!" and "/file" patterns, and an error (never a silent no-match) for what
// the reader cannot evaluate.
import Foundation
import XCTest
import MailQueue

final class DomainListTests: XCTestCase {
    private func list(_ value: String, parentStyle: Bool = false) throws -> DomainList {
        try DomainList(parameter: "fast_flush_domains", value: value, parentStyle: parentStyle)
    }

    func testNamesDotPatternsAndParentStyle() throws {
        let plain = try list("Example.COM, .sub.example")
        XCTAssertEqual(plain.match("example.com"), .match)
        XCTAssertEqual(plain.match("EXAMPLE.com"), .match)
        XCTAssertEqual(plain.match("host.example.com"), .noMatch, "without parent style a name matches only itself")
        XCTAssertEqual(plain.match("a.sub.example"), .match)
        XCTAssertEqual(plain.match("sub.example"), .noMatch, "\".sub.example\" is for subdomains only")
        let parent = try list("example.com", parentStyle: true)
        XCTAssertEqual(parent.match("host.example.com"), .match)
        XCTAssertEqual(parent.match("badexample.com"), .noMatch)
        XCTAssertTrue(DomainList.isParentStyle("fast_flush_domains", in: "debug_peer_list,fast_flush_domains mynetworks"))
        XCTAssertFalse(DomainList.isParentStyle("fast_flush_domains", in: ""))
    }

    func testNegationFilesAndErrors() throws {
        let dir = NSTemporaryDirectory() + "domainlist-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "# comment\nfiled.example\n  other.example  more.example\n".write(toFile: dir + "/list", atomically: true, encoding: .utf8)
        let l = try list("!no.example.com, example.com, /\(dir.dropFirst())/list, !/\(dir.dropFirst())/list", parentStyle: true)
        XCTAssertEqual(l.match("no.example.com"), .noMatch, "the first match decides")
        XCTAssertEqual(l.match("yes.example.com"), .match)
        XCTAssertEqual(l.match("more.example"), .match, "patterns from the file")
        XCTAssertEqual(l.match("comment"), .noMatch)
        XCTAssertThrowsError(try list("a.example, !"), "\"!\" without a pattern is fatal in stock")
        guard case .error = try list("hash:/etc/postfix/relay").match("a.example") else {
            return XCTFail("a table the reader cannot open must be an error")
        }
        guard case .error = try list("/nonexistent/list").match("a.example") else {
            return XCTFail("an unreadable file must be an error")
        }
        XCTAssertEqual(try list("a.example, hash:/x").match("a.example"), .match, "patterns before the table still match")
    }

    func testBracesAndUTF8Names() throws {
        let l = try list("{e.example}, x.example")
        XCTAssertEqual(l.match("e.example"), .noMatch, "stock keeps the braces: \"{e.example}\" names nothing")
        XCTAssertEqual(l.match("{e.example}"), .match)
        XCTAssertEqual(l.match("x.example"), .match)
        XCTAssertEqual(try list("{a b}c, d").match("{a b}c"), .match, "separators inside braces belong to the pattern")
        let utf8 = try list("Bücher.example")
        XCTAssertEqual(utf8.match("BÜCHER.example"), .match, "UTF-8 names are case-folded as text")
        XCTAssertEqual(utf8.match("xn--bcher-kva.example"), .noMatch, "names are not converted to ASCII form")
    }

    /// Local fixed-key tables are read with stock postmap -s (what the
    /// plugins do before the jail); "proxy:" and other tables are left to
    /// proxymap (errors here, with no proxymap client); a table postmap
    /// cannot read is an error naming it.
    func testLocalTablesReadWithPostmap() throws {
        let dir = NSTemporaryDirectory() + "domainlist-tables-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "".write(toFile: dir + "/main.cf", atomically: true, encoding: .utf8)
        try "A.example ok\nb.example ok\n".write(toFile: dir + "/relay", atomically: true, encoding: .utf8)
        let built = try runPostmap(["-c", dir, "hash:" + dir + "/relay"])
        XCTAssertEqual(built, 0)
        func loaded(_ value: String, parentStyle: Bool = true) throws -> DomainList {
            try list(value, parentStyle: parentStyle).loadingLocalTables(postmap: "/usr/sbin/postmap", configDirectory: dir)
        }
        let hash = try loaded("hash:\(dir)/relay")
        XCTAssertEqual(hash.match("a.example"), .match, "postmap folded the key when it built the table")
        XCTAssertEqual(hash.match("host.B.example"), .match, "parent style: a parent domain's key")
        XCTAssertEqual(hash.match("c.example"), .noMatch)
        XCTAssertEqual(try loaded("hash:\(dir)/relay", parentStyle: false).match("host.b.example"), .noMatch)
        let inline = try loaded("!inline:{no.d.example=x}, inline:{d.example=ok, { e.example = ok }}")
        XCTAssertEqual(inline.match("a.d.example"), .match)
        XCTAssertEqual(inline.match("no.d.example"), .noMatch, "the negated table decides first")
        XCTAssertEqual(inline.match("e.example"), .match)
        guard case .error(let missing, let detail) = try loaded("hash:\(dir)/missing").match("a.example") else {
            return XCTFail("a table postmap cannot read must be an error")
        }
        XCTAssertEqual(missing, "fast_flush_domains: hash:\(dir)/missing: table lookup problem")
        XCTAssertNotNil(detail, "what postmap said comes first")
        guard case .error = try loaded("proxy:hash:\(dir)/relay").match("a.example") else {
            return XCTFail("a proxy: table is left to proxymap")
        }
        XCTAssertEqual(hash.loadingLocalTables(postmap: "/nonexistent/postmap", configDirectory: dir).match("a.example"), .match,
                       "loading again keeps the loaded table")
        guard case .error(_, let noPostmap) = try list("hash:\(dir)/relay")
            .loadingLocalTables(postmap: "/nonexistent/postmap", configDirectory: dir).match("a.example") else {
            return XCTFail("without postmap the table is an error")
        }
        XCTAssertTrue(noPostmap?.contains("/nonexistent/postmap") == true, noPostmap ?? "no detail")
    }

    /// regexp:, cidr:, static:, fail: and unionmap: patterns are opened by
    /// loadingLocalTables as stock's pre-jail initialisation opens them
    /// (not left to proxymap, which refuses them by default): a pattern
    /// table is asked for the name only, a union whose first member has
    /// fixed keys for the parent domains too; what stock logs while
    /// opening is kept, once per table; a table that cannot be opened,
    /// and fail:, are lookup errors naming it.
    func testPatternTablesOpenedBeforeTheJail() throws {
        let dir = NSTemporaryDirectory() + "domainlist-patterns-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "".write(toFile: dir + "/main.cf", atomically: true, encoding: .utf8)
        try "relay.example ok\n".write(toFile: dir + "/relay", atomically: true, encoding: .utf8)
        XCTAssertEqual(try runPostmap(["-c", dir, "hash:" + dir + "/relay"]), 0)
        try "/^(a|b)\\.example$/ ok\n/^bad(/ skipped\n".write(toFile: dir + "/re", atomically: true, encoding: .utf8)
        try "192.0.2.0/24 ok\n".write(toFile: dir + "/cidr", atomically: true, encoding: .utf8)
        func loaded(_ value: String, parentStyle: Bool = true) throws -> DomainList {
            try list(value, parentStyle: parentStyle).loadingLocalTables(postmap: "/usr/sbin/postmap", configDirectory: dir)
        }

        let regexp = try loaded("regexp:\(dir)/re, regexp:\(dir)/re")
        XCTAssertEqual(regexp.match("A.Example"), .match, "the list folds the name before the lookup")
        XCTAssertEqual(regexp.match("host.a.example"), .noMatch, "a pattern table is asked for the name only")
        XCTAssertEqual(regexp.tableNotices, [TableNotice(.warning, "regexp map \(dir)/re, line 2: Unmatched ( or \\(")],
                       "a table named twice is opened once")
        let cidr = try loaded("!cidr:\(dir)/cidr, static:{yes}")
        XCTAssertEqual(cidr.match("192.0.2.7"), .noMatch)
        XCTAssertEqual(cidr.match("198.51.100.7"), .match, "static: matches any name")
        XCTAssertEqual(try loaded("unionmap:{hash:\(dir)/relay, regexp:\(dir)/re}").match("host.relay.example"), .match,
                       "the first member has fixed keys: parent domains are looked up")
        XCTAssertEqual(try loaded("unionmap:{regexp:\(dir)/re, hash:\(dir)/relay}").match("host.relay.example"), .noMatch)

        let missing = try loaded("a.example, regexp:\(dir)/missing")
        XCTAssertEqual(missing.tableNotices, [TableNotice(.error, "open \(dir)/missing: No such file or directory")])
        XCTAssertEqual(missing.match("a.example"), .match)
        XCTAssertEqual(missing.match("b.example"), .error("fast_flush_domains: regexp:\(dir)/missing: table lookup problem",
                                                          detail: "regexp:\(dir)/missing is unavailable. open \(dir)/missing: No such file or directory"))
        XCTAssertEqual(try loaded("fail:x").match("a.example"), .error("fast_flush_domains: fail:x: table lookup problem"))
        XCTAssertEqual(try loaded("cidr:\(dir)").tableNotices, [TableNotice(.fatal, "cidr map \(dir): read error: Is a directory")])
        guard case .error = try loaded("proxy:regexp:\(dir)/re").match("a.example") else {
            return XCTFail("a proxy: table is left to proxymap")
        }
        for bad in ["regexp:", ":x", "a.example, !static:"] {
            XCTAssertThrowsError(try list(bad), "an empty type or name is fatal in stock") { error in
                let spec = bad.split(separator: " ").last.map { String($0.drop { $0 == "!" }) } ?? bad
                XCTAssertEqual("\(error)", "open dictionary: expecting \"type:name\" form instead of \"\(spec)\"")
            }
        }
    }

    private func runPostmap(_ args: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/postmap")
        process.arguments = args
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testClientAnswersWithoutAServer() throws {
        let nowhere = "/nonexistent-queue"
        let client = FlushClient(queueDirectory: nowhere, domains: try list("a.example"), timeout: 2)
        XCTAssertEqual(client.add(site: "b.example", queueID: "ABC"), .deny, "not eligible: the server is not asked")
        XCTAssertEqual(client.sendSite("b.example"), .deny)
        XCTAssertEqual(client.add(site: "a.example", queueID: "ABC"), .fail, "eligible, server unreachable")
        XCTAssertEqual(FlushClient(queueDirectory: nowhere, domains: try list(""), timeout: 2).refresh(), .deny,
                       "the service is turned off")
        XCTAssertEqual(FlushClient(queueDirectory: nowhere, domains: try list("hash:/x"), timeout: 2).sendSite("a.example"), .fail)

        // A list that cannot be evaluated is reported as stock's match list
        // logs it: the table's own warning, then the list's.
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        let missing = try list("regexp:\(nowhere)/missing").loadingLocalTables(postmap: "/usr/sbin/postmap", configDirectory: "/etc/postfix")
        let warning = FlushClient(queueDirectory: nowhere, domains: missing, timeout: 2, warn: { lines.all.append($0) })
        XCTAssertEqual(warning.add(site: "a.example", queueID: "ABC"), .fail)
        XCTAssertEqual(lines.all, ["regexp:\(nowhere)/missing is unavailable. open \(nowhere)/missing: No such file or directory",
                                   "fast_flush_domains: regexp:\(nowhere)/missing: table lookup problem"])
    }
}

/// The proxymap protocol's lists, byte for byte as dict_proxy sends and reads them.
final class ProxymapProtocolTests: XCTestCase {
    func testRequestsRepliesAndTableNames() throws {
        XCTAssertEqual(ProxymapProtocol.tableName("proxy:proxy:hash:/etc/postfix/relay"), "hash:/etc/postfix/relay")
        XCTAssertEqual(ProxymapProtocol.tableName("hash:/x"), "hash:/x")
        let flags = ProxymapProtocol.matchListFlags
        XCTAssertEqual(flags, 0x80040, "DICT_FLAG_LOCK | DICT_FLAG_UTF8_REQUEST")
        XCTAssertEqual(ProxymapProtocol.openRequest(table: "hash:/x", flags: flags).encoded,
                       Array("request\0open\0table\0hash:/x\0flags\00\0\0".utf8), "request flags stay out of an open")
        XCTAssertEqual(ProxymapProtocol.lookupRequest(table: "hash:/x", flags: flags, key: "a.example").encoded,
                       Array("request\0lookup\0table\0hash:/x\0flags\0524352\0key\0a.example\0\0".utf8))
        let open = try ProxymapProtocol.openReply(AttrList([.int("status", 0), .int("flags", 0x10)]), peer: "test")
        XCTAssertTrue(open == (0, 0x10))
        let found = try ProxymapProtocol.lookupReply(AttrList([.int("status", 0), .string("value", "OK")]), peer: "test")
        XCTAssertTrue(found == (0, "OK"))
        XCTAssertThrowsError(try ProxymapProtocol.lookupReply(AttrList([.int("status", 1)]), peer: "test"),
                             "a reply without its value is an error")
        let deny = ProxymapError(service: "proxymap", table: "hash:/x", problem: .status(.deny, 4))
        XCTAssertEqual(deny.description,
                       "proxymap service is not configured for table \"hash:/x\" (list proxy:hash:/x in main.cf:proxy_read_maps)")
    }
}
