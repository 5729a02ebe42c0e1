// TableChangeWatchTests.swift - TableChangeWatch against tables built by
// stock postmap: unchanged, rebuilt (a new modification time), removed
// (the open file unlinked), which tables are watched and under which name.
import Foundation
import XCTest
import Glibc
import TestSupport
import MailQueue

final class TableChangeWatchTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "tablewatch-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "".write(toFile: dir + "/main.cf", atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Writes `source` and builds its hash table with stock postmap, the
    /// .db file's time set `age` seconds back (so a rebuild differs).
    private func build(_ name: String, _ source: String, age: Int = 100) throws {
        try source.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        let r = try runCommand("/usr/sbin/postmap", ["-c", dir, "hash:\(dir)/\(name)"], timeout: 30)
        XCTAssertEqual(r.status, 0, r.output)
        let then = time(nil) - age
        var times = [timeval(tv_sec: then, tv_usec: 0), timeval(tv_sec: then, tv_usec: 0)]
        XCTAssertEqual(utimes(dir + "/\(name).db", &times), 0)
    }

    private func list(_ value: String) throws -> DomainList {
        try DomainList(parameter: "fast_flush_domains", value: value, parentStyle: false)
    }

    func testARebuiltOrRemovedTableIsNamedAsStockNamesIt() throws {
        try build("relay", "a.example ok\n")
        try build("other", "b.example ok\n")
        let lists = [try list("hash:\(dir)/relay, inline:{c.example=ok}, texthash:\(dir)/relay, !hash:\(dir)/other"),
                     try list("hash:\(dir)/relay, proxy:hash:\(dir)/other, hash:\(dir)/missing")]
        let watch = TableChangeWatch(lists)
        XCTAssertEqual(watch.tableNames, ["hash:\(dir)/relay(0,lock|utf8_request)", "hash:\(dir)/other(0,lock|utf8_request)"],
                       "hash tables with a file, once each; not inline, texthash, proxy: or a missing file")
        XCTAssertNil(watch.changedTable())

        try build("other", "b.example ok\nd.example ok\n", age: 0)
        XCTAssertEqual(watch.changedTable(), "hash:\(dir)/other(0,lock|utf8_request)", "rebuilt: a new time")

        let removed = TableChangeWatch([try list("hash:\(dir)/relay")])
        XCTAssertNil(removed.changedTable())
        XCTAssertEqual(unlink(dir + "/relay.db"), 0)
        XCTAssertEqual(removed.changedTable(), "hash:\(dir)/relay(0,lock|utf8_request)", "unlinked, as a rename over it does")
    }

    func testLoadedListsAreWatchedToo() throws {
        try build("relay", "a.example ok\n")
        let loaded = try list("hash:\(dir)/relay").loadingLocalTables(postmap: "/usr/sbin/postmap", configDirectory: dir)
        XCTAssertEqual(loaded.match("a.example"), .match)
        XCTAssertEqual(TableChangeWatch([loaded]).tableNames, ["hash:\(dir)/relay(0,lock|utf8_request)"])
        XCTAssertEqual(TableChangeWatch([try list("a.example, .b.example")]).tableNames, [])
        XCTAssertEqual(TableChangeWatch([try list("pipemap:{regexp:\(dir)/re, unionmap:{static:x, hash:\(dir)/relay}}")]).tableNames,
                       ["hash:\(dir)/relay"], "a member of a union or pipe, however deep, under its own name")
    }
}
