// FlushWakeupTests.swift - the master's wakeup drives the refresh, for our
// plugin and for stock flush(8) side by side (same settings, same mail):
// with fast_flush_refresh_time and fast_flush_purge_time at 2 seconds and
// the flush line's wakeup at "2?" (Debian's "1000?", shortened), a log of
// deferred mail that nobody asks for is sent by the refresh once it has
// been unread for 2 s (the mail reaches the sink that now listens, with no
// ETRN or postqueue), the sent log is truncated, and the empty log is
// removed once unchanged for 2 s.
import Foundation
import XCTest
import TestSupport

final class FlushWakeupTests: FlushPluginTestCase {
    func testWakeupRefreshesThenPurgesLikeStock() throws {
        var parameters = [String: String]()
        let wakeup = ["flush/unix/wakeup = 2?"]
        let ours = try Destinations(["a.example"]), theirs = try Destinations(["a.example"])
        parameters = deferringParameters(ours, fastFlushDomains: ["a.example"])
            .merging(["fast_flush_refresh_time": "2s", "fast_flush_purge_time": "2s"]) { $1 }
        let plugin = try startPluginInstance(parameters, masterCf: wakeup)
        parameters["transport_maps"] = theirs.transportMap
        let stock = try startStockInstance(parameters, masterCf: ["flush/unix/chroot = y"] + wakeup)
        for inst in [plugin, stock] { try submit(inst, to: "user@a.example") }
        for inst in [plugin, stock] {
            XCTAssertTrue(waitDeferred(inst, count: 1, domains: ["a.example"]), "not deferred in \(inst.dir)")
        }
        try assertPluginFlush(plugin)
        let sinks = [try startSink(port: ours.ports["a.example"]!), try startSink(port: theirs.ports["a.example"]!)]
        for (inst, sink) in zip([plugin, stock], sinks) {
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { sink.messages.count == 1 },
                          "\(inst.dir): the wakeup's refresh did not send the log\n\(inst.logTail(20))")
        }
        for inst in [plugin, stock] {
            XCTAssertTrue(waitUntil(timeout: 10, interval: 0.1) { deferredIDs(inst).isEmpty })
            let log = flushLog(inst, "a_example")
            XCTAssertTrue(log == "" || log == nil, "\(inst.dir): the sent log is truncated: \(log ?? "")")
        }
        for inst in [plugin, stock] {
            XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { flushLog(inst, "a_example") == nil },
                          "\(inst.dir): the empty log was not purged")
        }
        XCTAssertEqual(plugin.logLines(containing: "postfix/flush[").filter { $0.contains("warning") || $0.contains("error") }, [])
    }
}
