// ListenerTests.swift - the endpoints the master creates, compared with stock:
// for every socket and FIFO under public/ and private/ (unix, unix-dgram,
// fifo and pass services, including extra ones of each type), the same file
// type, owner, group and mode; and the same TCP listeners for inet services.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class ListenerTests: InstanceTestCase {
    /// "public/pickup socket 0666 postfix:postfix", one line per endpoint.
    private func endpoints(master: String, port: Int) throws -> [String] {
        let inst = try makeInstance(master: master)
        try inst.appendMasterCf("""
            xunix     unix  n - n - - smtpd
            xprivate  unix  - - n - - smtpd
            xdgram    unix-dgram n - n - 1 postlogd
            xfifo     fifo  n - n - 1 pickup
            xpass     pass  n - n - - smtpd
            127.0.0.1:\(port) inet n - n - - smtpd
            """)
        try inst.start()
        var lines: [String] = []
        for dir in ["public", "private"] {
            // Sorted: a directory's listing order is the file system's, not the master's.
            let names = try FileManager.default.contentsOfDirectory(atPath: inst.queue + "/" + dir).sorted()
            for name in names {
                var info = stat()
                guard lstat(inst.queue + "/" + dir + "/" + name, &info) == 0 else {
                    lines.append("\(dir)/\(name) lstat failed: \(String(cString: strerror(errno)))")
                    continue
                }
                let kind: String
                switch info.st_mode & S_IFMT {
                case S_IFSOCK: kind = "socket"
                case S_IFIFO: kind = "fifo"
                default: kind = "other"
                }
                let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? String(info.st_uid)
                let group = getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } ?? String(info.st_gid)
                lines.append("\(dir)/\(name) \(kind) \(String(info.st_mode & 0o7777, radix: 8)) \(owner):\(group)")
            }
        }
        lines.append("inet 127.0.0.1:\(port) " + (Net.greets(port: port) ? "answers" : "silent"))
        inst.stopAll()
        return lines
    }

    func testEndpointsHaveStockTypesOwnersAndModes() throws {
        let port = try Net.freePort()
        let stock = try endpoints(master: TestEnv.stockMaster, port: port)
        let ours = try endpoints(master: TestEnv.masterUnderTest, port: port)
        XCTAssertTrue(stock.contains("public/xfifo fifo 622 postfix:postfix"), "stock FIFO: \(stock)")
        XCTAssertTrue(stock.contains { $0.hasPrefix("public/xdgram socket 666 ") }, "stock datagram socket: \(stock)")
        XCTAssertTrue(stock.contains { $0.hasPrefix("public/xpass socket 666 ") }, "stock pass socket: \(stock)")
        XCTAssertEqual(ours, stock)
    }
}
