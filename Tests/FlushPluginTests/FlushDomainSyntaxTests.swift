// FlushDomainSyntaxTests.swift - fast_flush_domains written with braces and
// with a non-ASCII (UTF-8) domain, answered by our flush.so (Debian's
// chrooted line) as by stock flush on an all-stock instance with the same
// main.cf: ETRN through stock smtpd, `sendmail -qR` through stock
// postqueue, the server's own answers to send_site and add (asked
// directly, past the client's filtering), and the log names `add` creates
// under flush/ (a UTF-8 site is logged under its IDNA ASCII form).
import Foundation
import XCTest
import MailQueue
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class FlushDomainSyntaxTests: FlushPluginTestCase {
    /// One braced inline table (its ", " is not a separator), a braced
    /// name (stock keeps the braces, so it names nothing), a UTF-8 name.
    static let domains = "inline:{c.example=ok, d.example=ok}, {e.example}, bücher.example"
    static let sites = ["c.example", "d.example", "e.example", "{e.example}", "bücher.example", "xn--bcher-kva.example"]

    func testBracesAndNonASCIIDomainsAnswerAsStock() throws {
        let parameters = ["fast_flush_domains": Self.domains]
        let ours = try startPluginInstance(parameters)
        let ourAnswers = try answers(ours)
        try assertPluginFlush(ours)
        let stock = try startStockInstance(parameters)
        let stockAnswers = try answers(stock)
        XCTAssertEqual(ourAnswers, stockAnswers, "ours (left) and stock (right) must answer alike")
        XCTAssertEqual(flushLogNames(ours), flushLogNames(stock), "add must create the same log names")
        // What stock answered on this machine (Postfix 3.7.11, libicu): the
        // braced inline table is one pattern, "{e.example}" names nothing;
        // smtpd and postqueue refuse the UTF-8 name before asking flush,
        // whose own answer matches it (any case) and logs it in IDNA form.
        XCTAssertEqual(stockAnswers, [
            "ETRN c.example": "250", "ETRN d.example": "250", "ETRN e.example": "459",
            "ETRN bücher.example": "501", "ETRN xn--bcher-kva.example": "459",
            "sendmail -qR c.example": "0 ",
            "sendmail -qR bücher.example": "69 postqueue: fatal: Cannot flush mail queue - invalid destination: \"bücher.example\"",
            "send_site c.example": "ok", "send_site d.example": "ok", "send_site e.example": "deny",
            "send_site bücher.example": "ok", "send_site BÜCHER.example": "ok", "send_site xn--bcher-kva.example": "deny",
            "add c.example": "ok", "add d.example": "ok", "add e.example": "deny",
            "add bücher.example": "ok", "add BÜCHER.example": "ok", "add xn--bcher-kva.example": "deny",
        ])
        XCTAssertEqual(flushLogNames(stock), ["c_example", "d_example", "xn__bcher_kva_example"])
        XCTAssertEqual(ours.logLines(containing: "postfix/flush[").filter { $0.contains("warning") || $0.contains("fatal") }, [])
    }

    private func answers(_ inst: PrivateInstance) throws -> [String: String] {
        var out: [String: String] = [:]
        let session = try SMTPSession(port: inst.smtpPort)
        defer { session.close() }
        try session.expect("220", after: nil)
        try session.expect("250", after: "EHLO client.example")
        for site in Self.sites where !site.hasPrefix("{") {
            out["ETRN " + site] = try Self.replyCode(session, after: "ETRN " + site)
        }
        for site in ["bücher.example", "c.example"] {
            let r = try runCommand("/usr/sbin/sendmail", ["-C", inst.etc, "-qR" + site], env: ["MAIL_CONFIG": inst.etc], timeout: 60)
            out["sendmail -qR " + site] = "\(r.status) " + r.output.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: inst.etc, with: "ETC")
        }
        let client = try flushClient(inst, sites: Self.sites.filter { !$0.hasPrefix("{") } + ["BÜCHER.example"])
        for site in Self.sites.filter({ !$0.hasPrefix("{") }) + ["BÜCHER.example"] {
            out["send_site " + site] = "\(client.sendSite(ByteString(site)))"
            out["add " + site] = "\(client.add(site: ByteString(site), queueID: "ABC123"))"
        }
        return out
    }

    /// Sends `line` and returns the code of the complete reply.
    static func replyCode(_ session: SMTPSession, after line: String) throws -> String {
        let bytes = Array((line + "\r\n").utf8)
        guard bytes.withUnsafeBytes({ write(session.fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw HarnessError("SMTP write failed: \(errno)")
        }
        while true {
            guard let reply = Net.readLine(fd: session.fd, timeout: 30), reply.count >= 4 else {
                throw HarnessError("SMTP: no reply to \(line)")
            }
            if reply.dropFirst(3).first == " " { return String(reply.prefix(3)) }
        }
    }
}
