// TrivialRewriteClientTests - our client against the stock trivial-rewrite
// of a private instance: resolve results for local, relay, virtual, virtual
// alias, default and transport_maps destinations compared with what stock
// postconf and postmap say the configuration implies; rewrite of a bare
// local part by $myorigin; bad syntax; the verify view; reconnection after
// the service process is killed; and a wrong service's greeting refused.
import XCTest
import Foundation
import Glibc
import TestSupport
@testable import MailQueue

final class TrivialRewriteClientTests: XCTestCase {
    /// One instance for the class, with relay, virtual, virtual alias and transport_maps destinations.
    static let shared = SharedStockInstance {
        try StockQueueInstance.withRoutes(["virtual_mailbox_domains": "virtual.example"])
    }

    func makeStock() throws -> StockQueueInstance { try Self.shared.get() }

    override class func tearDown() {
        shared.destroy()
        super.tearDown()
    }

    /// "transport:nexthop" split as trivial-rewrite splits a transport setting.
    func split(_ setting: String, defaultNexthop: String) -> (String, String) {
        guard let colon = setting.firstIndex(of: ":") else { return (setting, defaultNexthop) }
        let hop = String(setting[setting.index(after: colon)...])
        return (String(setting[..<colon]), hop.isEmpty ? defaultNexthop : hop)
    }

    func testResolveAgainstStockConfiguration() throws {
        let stock = try makeStock()
        let client = TrivialRewriteClient(queueDirectory: stock.queue)
        func check(_ address: String, transportSetting: String, domain: String, flags: ResolveFlags,
                   line: UInt = #line) throws {
            let reply = try client.resolve(ByteString(address), sender: "sender@test.example")
            let (transport, nexthop) = split(transportSetting, defaultNexthop: domain)
            XCTAssertEqual(reply.transport.description, transport, address, line: line)
            XCTAssertEqual(reply.nexthop.description, nexthop, address, line: line)
            XCTAssertEqual(reply.recipient.description, address, address, line: line)
            XCTAssertTrue(reply.flags.isSuperset(of: flags), "\(address): \(reply.flags)", line: line)
        }
        let myhostname = try stock.parameter("myhostname")
        try check("user@localhost", transportSetting: try stock.parameter("local_transport"), domain: myhostname,
                  flags: .classLocal)
        try check("user@relay.example", transportSetting: try stock.parameter("relay_transport"), domain: "relay.example",
                  flags: .classRelay)
        try check("user@virtual.example", transportSetting: try stock.parameter("virtual_transport"),
                  domain: "virtual.example", flags: .classVirtual)
        try check("user@remote.example", transportSetting: try stock.parameter("default_transport"),
                  domain: "remote.example", flags: .classDefault)
        for domain in ["mapped.example", "errored.example"] {
            let r = try runCommand("/usr/sbin/postmap", ["-c", stock.etc, "-q", domain, "hash:" + stock.etc + "/transport"])
            XCTAssertEqual(r.status, 0, r.output)
            try check("user@" + domain, transportSetting: r.output.trimmingCharacters(in: .whitespacesAndNewlines),
                      domain: domain, flags: .classDefault)
        }
        // Virtual alias domains: mail that no alias rewrote is refused at once.
        let alias = try client.resolve("nobody@alias.example", sender: "s@test.example")
        XCTAssertEqual(alias.transport, "error")
        XCTAssertTrue(alias.nexthop.description.hasPrefix("5.1.1 User unknown"), "\(alias.nexthop)")
        XCTAssertTrue(alias.flags.contains(.classAlias))
        // Bad syntax, verified on stock (reference 3.3).
        let bad = try client.resolve("bad@@x..", sender: "s@test.example")
        XCTAssertEqual(bad.flags, [.error, .classDefault])
        // The verify view resolves an ordinary address the same way here (no address_verify_* overrides).
        XCTAssertEqual(try client.resolve("user@remote.example", sender: "s@test.example", verify: true),
                       try client.resolve("user@remote.example", sender: "s@test.example"))
    }

    func testRewriteLocalPartWithMyorigin() throws {
        let stock = try makeStock()
        let client = TrivialRewriteClient(queueDirectory: stock.queue)
        XCTAssertEqual(try client.rewrite("user").description, "user@" + (try stock.parameter("myorigin")))
        XCTAssertEqual(try client.rewrite("user@remote.example"), "user@remote.example")
        XCTAssertEqual(try client.rewrite(""), "")
    }

    /// The service process dies between two requests: the next request reconnects (the master starts a new one).
    func testReconnectsAfterTheServiceIsKilled() throws {
        let stock = try makeStock()
        let client = TrivialRewriteClient(queueDirectory: stock.queue, cacheLifetime: 0)
        let first = try client.resolve("a@remote.example", sender: "")
        let pids = stock.instance.children(matching: "trivial-rewrite")
        XCTAssertFalse(pids.isEmpty, "a trivial-rewrite serves us")
        for pid in pids { Proc.terminate(pid) }
        XCTAssertTrue(waitUntil(timeout: 10) { stock.instance.children(matching: "trivial-rewrite").isEmpty })
        XCTAssertEqual(try client.resolve("a@remote.example", sender: ""), first)
        let now = stock.instance.children(matching: "trivial-rewrite")
        XCTAssertFalse(now.isEmpty)
        XCTAssertTrue(Set(now).isDisjoint(with: pids))
    }

    /// Each request goes to the service unless the cache answers it; the cache is per exact query.
    func testOneEntryCache() throws {
        let stock = try makeStock()
        let client = TrivialRewriteClient(queueDirectory: stock.queue, cacheLifetime: 30)
        let reply = try client.resolve("c@remote.example", sender: "s")
        client.service.disconnect()
        for pid in stock.instance.children(matching: "trivial-rewrite") { Proc.terminate(pid) }
        XCTAssertTrue(waitUntil(timeout: 10) { stock.instance.children(matching: "trivial-rewrite").isEmpty })
        // Cached: no service needed (the killed one is not restarted until someone connects).
        XCTAssertEqual(try client.resolve("c@remote.example", sender: "s"), reply)
        XCTAssertTrue(stock.instance.children(matching: "trivial-rewrite").isEmpty)
        // A different sender is a different query.
        XCTAssertEqual(try client.resolve("c@remote.example", sender: "t"), reply)
        XCTAssertEqual(stock.instance.children(matching: "trivial-rewrite").count, 1)
    }

    func testAnotherServiceIsRefusedByItsGreeting() throws {
        let stock = try makeStock()
        let client = TrivialRewriteClient(service: ServiceClient(path: stock.queue + "/private/bounce", peer: "private/bounce",
                                                                 protocolName: TrivialRewriteClient.protocolName))
        XCTAssertThrowsError(try client.resolve("a@remote.example", sender: "")) {
            XCTAssertEqual("\($0)", "unexpected protocol delivery_status_protocol from private/bounce (expected: trivial_rewrite_protocol)")
        }
        XCTAssertFalse(client.service.isConnected)
    }
}
