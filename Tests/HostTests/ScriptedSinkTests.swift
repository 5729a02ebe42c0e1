// ScriptedSinkTests.swift - the scripted SMTP sink of TestSupport, driven by
// stock smtp-source: it counts messages, sessions and concurrent sessions
// exactly, and answers recipients by its rules (a 4xx recipient is not
// recorded, and with no valid recipient DATA is refused).
import Foundation
import XCTest
import TestSupport

final class ScriptedSinkTests: XCTestCase {
    private func smtpSource(_ arguments: [String]) throws -> CommandResult {
        let path = try StockBinaries.verifiedInPlace("/usr/sbin/smtp-source", runs: StockBinaries.libraries)
        return try runCommand(path, arguments, timeout: 120)
    }

    func testCountsMessagesAndConcurrentSessions() throws {
        var script = ScriptedSink.Script()
        script.dataDelay = 0.2   // keeps sessions open long enough to overlap
        let sink = try ScriptedSink(script: script)
        defer { sink.stop() }
        let r = try smtpSource(["-s", "4", "-m", "40", "-f", "from@example.com", "-t", "to@example.com",
                                "127.0.0.1:\(sink.port)"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(sink.messages.count, 40)
        XCTAssertEqual(sink.messages.first?.sender, "from@example.com")
        XCTAssertEqual(Set(sink.deliveredRecipients), ["to@example.com"])
        XCTAssertEqual(sink.sessions, 40)
        XCTAssertLessThanOrEqual(sink.mostConcurrentSessions, 4)
        XCTAssertGreaterThanOrEqual(sink.mostConcurrentSessions, 2, "four smtp-source sessions never overlapped")
    }

    func testRecipientRulesAnswerByAddress() throws {
        var script = ScriptedSink.Script()
        script.recipientRules = [.init(suffix: "@slow.example", reply: "450 4.2.0 try again later")]
        let sink = try ScriptedSink(script: script)
        defer { sink.stop() }
        let refused = try smtpSource(["-m", "1", "-t", "user@slow.example", "127.0.0.1:\(sink.port)"])
        XCTAssertNotEqual(refused.status, 0, "smtp-source accepted a 450 recipient: \(refused.output)")
        XCTAssertTrue(refused.output.contains("450"), refused.output)
        XCTAssertTrue(sink.messages.isEmpty)
        let accepted = try smtpSource(["-m", "1", "-t", "user@fast.example", "127.0.0.1:\(sink.port)"])
        XCTAssertEqual(accepted.status, 0, accepted.output)
        XCTAssertEqual(sink.deliveredRecipients, ["user@fast.example"])
    }
}
