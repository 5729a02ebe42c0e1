// postfix(1) logging when main.cf sets maillog_file (the make-instance
// instances do), compared with stock: the record goes as one datagram to
// $queue_directory/public/postlog (here a socket this test binds, so the
// exact bytes are seen), and, when no one listens there, is appended to
// maillog_file. Timestamp digits and pids are masked; everything else must
// be identical to what stock's postfix-script/postlog produce, also for a
// value that must be made printable.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PostfixMaillogTests: XCTestCase {
    var instance = ""

    override func setUpWithError() throws {
        guard try Tools.require([Tools.stockPostfix, Tools.postfix], root: true) else { throw ToolError("requirements missing") }
        instance = try scratchDir("pflog")
        let made = try runTool(Tools.packageRoot + "/contrib/make-instance", [instance], timeout: 120)
        guard made.status == 0 else { throw ToolError("make-instance failed: \(made.stderr)") }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: instance) }

    /// Digits of the "Mon DD HH:MM:SS" stamp and the [pid] masked.
    func masked(_ record: String) -> String {
        let stamp = String(record.prefix(15)).map { $0.isNumber ? "9" : $0 }
        return String(stamp) + String(record.dropFirst(15))
            .replacingOccurrences(of: #"\[[0-9]+\]"#, with: "[PID]", options: .regularExpression)
    }

    /// Binds a datagram socket at `path`; returns its fd (5 s receive timeout).
    func bindDatagram(_ path: String) throws -> Int32 {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &a.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard fd >= 0, ok == 0 else { throw ToolError("bind \(path): \(errno)") }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    func receive(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    func testRecordsGoToPostlogSocketLikeStock() throws {
        let socketPath = instance + "/queue/public/postlog", maillog = instance + "/log/maillog"
        let fd = try bindDatagram(socketPath)
        defer { close(fd); unlink(socketPath) }
        let before = readFile(maillog)
        var records: [String: String] = [:]
        for (who, tool) in [("stock", try Tools.stockPostfix), ("ours", Tools.postfix)] {
            let r = try runTool(tool, ["-c", instance + "/etc", "status"])
            XCTAssertEqual(r.status, 1, "\(who): master is not running")
            records[who] = receive(fd)
        }
        let stock = try XCTUnwrap(records["stock"], "stock sent no datagram")
        let ours = try XCTUnwrap(records["ours"], "ours sent no datagram")
        XCTAssertTrue(ours.hasSuffix(" postfix/postfix-script[\(ours.split(separator: "[")[1].prefix { $0.isNumber })]: the Postfix mail system is not running"), ours)
        XCTAssertEqual(masked(ours), masked(stock))
        XCTAssertEqual(readFile(maillog), before, "nothing appended while postlogd's socket answers")
    }

    /// A control character and UTF-8 in a logged value: "?" for the one,
    /// the other kept or "?"-ed as smtputf8_enable says, byte for byte as
    /// stock's msg_output makes them (PrintableText).
    func testRecordsAreMadePrintableLikeStock() throws {
        let socketPath = instance + "/queue/public/postlog"
        let fd = try bindDatagram(socketPath)
        defer { close(fd); unlink(socketPath) }
        let command = "bad\u{1}cmd\tStra\u{DF}e\u{7F}"
        for utf8 in ["yes", "no"] {
            let main = try XCTUnwrap(readFile(instance + "/etc/main.cf").map { String(decoding: $0, as: UTF8.self) })
            try writeFile(instance + "/etc/main.cf", main.split(separator: "\n").filter { !$0.hasPrefix("smtputf8_enable") }
                .joined(separator: "\n") + "\nsmtputf8_enable = \(utf8)\n")
            var records: [String: String] = [:]
            for (who, tool) in [("stock", try Tools.stockPostfix), ("ours", Tools.postfix)] {
                let r = try runTool(tool, ["-c", instance + "/etc", command])
                XCTAssertEqual(r.status, 1, "\(who): \(r.stderr)")
                records[who] = receive(fd)
            }
            let stock = try XCTUnwrap(records["stock"], "stock sent no datagram"), ours = try XCTUnwrap(records["ours"], "ours sent no datagram")
            XCTAssertTrue(ours.contains("unknown command: 'bad?cmd?Stra" + (utf8 == "yes" ? "\u{DF}" : "??") + "e?'"), "\(utf8): \(ours)")
            XCTAssertEqual(masked(ours), masked(stock), "smtputf8_enable = \(utf8)")
        }
    }

    func testRecordsFallBackToMaillogFileLikeStock() throws {
        let maillog = instance + "/log/maillog"
        unlink(instance + "/queue/public/postlog")
        var lines: [String: String] = [:]
        for (who, tool) in [("stock", try Tools.stockPostfix), ("ours", Tools.postfix)] {
            let before = (try? String(contentsOfFile: maillog, encoding: .utf8)) ?? ""
            let r = try runTool(tool, ["-c", instance + "/etc", "frobnicate"])
            XCTAssertEqual(r.status, 1, who)
            let after = (try? String(contentsOfFile: maillog, encoding: .utf8)) ?? ""
            XCTAssertTrue(after.hasPrefix(before), "\(who) appends")
            lines[who] = String(after.dropFirst(before.count))
        }
        let stock = try XCTUnwrap(lines["stock"]), ours = try XCTUnwrap(lines["ours"])
        XCTAssertTrue(ours.contains("fatal: unknown command: 'frobnicate'"), ours)
        XCTAssertEqual(ours.split(separator: "\n").map { masked(String($0)) }, stock.split(separator: "\n").map { masked(String($0)) })
    }
}
