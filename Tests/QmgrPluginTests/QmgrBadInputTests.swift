// QmgrBadInputTests - the qmgr plugin against bad input, end to end: queue
// files damaged byte by byte from a real one (truncated, an unknown record
// type, the end record missing), dropped complete (mode 0700) into incoming,
// are moved to corrupt with stock's warning, and the same qmgr process goes
// on to deliver the next good message; garbage bytes written to its trigger
// socket (public/qmgr, `unix` in Debian's master.cf) are ignored and the
// same process keeps delivering. Every wait is bounded.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class QmgrBadInputTests: QmgrPluginTestCase {
    func testDamagedQueueFilesAreSavedAsCorrupt() throws {
        // Relay mail is held in deferred (the template); local mail is delivered.
        let inst = try startQmgrInstance(relayPort: 9, parameters: ["defer_transports = smtp"])
        let worker = try XCTUnwrap(qmgrWorker(inst))
        try submit(inst, to: "template@example.com", subject: "template")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { self.files(inst, in: "deferred").count == 1 }, inst.queuedFiles().description)
        let template = inst.queue + "/deferred/" + (try XCTUnwrap(files(inst, in: "deferred").first))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: template)))
        var st = stat()
        XCTAssertEqual(stat(template, &st), 0)
        XCTAssertEqual(bytes.suffix(2), [UInt8(ascii: "E"), 0], "a queue file ends with an empty E record")

        var badType = bytes
        badType[0] = 0x7F
        let damaged: [(id: String, bytes: [UInt8])] = [
            ("C0FFEE0001", Array(bytes.prefix(bytes.count / 2))),
            ("C0FFEE0002", badType),
            ("C0FFEE0003", Array(bytes.dropLast(2))),
        ]
        for file in damaged {
            let path = inst.queue + "/incoming/" + file.id
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(file.bytes)))
            XCTAssertEqual(chown(path, st.st_uid, st.st_gid), 0)
            XCTAssertEqual(chmod(path, 0o700), 0, "mode 0700: the file is complete")
        }
        try submit(inst, to: "nobody@localhost", subject: "after-corrupt")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { inst.mailbox("nobody").contains { $0.contains("after-corrupt") } },
                      "the good message was not delivered: \(inst.logTail())")
        for file in damaged {
            XCTAssertNotNil(inst.waitForLog("postfix/qmgr[\(worker)]: warning: saving corrupt file \"\(file.id)\" from queue \"active\" to queue \"corrupt\"",
                                            timeout: 30), "\(file.id): \(inst.logTail())")
            XCTAssertTrue(FileManager.default.fileExists(atPath: inst.queue + "/corrupt/" + file.id), "\(file.id) not in corrupt")
        }
        XCTAssertEqual(files(inst, in: "incoming"), [])
        // The mailbox shows the message before the qmgr has the agent's
        // status and removes the file, so active empties a moment later.
        XCTAssertTrue(waitUntil(timeout: 30, interval: 0.2) { self.files(inst, in: "active").isEmpty },
                      "active/: \(files(inst, in: "active"))")
        XCTAssertEqual(qmgrWorker(inst), worker, "the qmgr process must keep running")
    }

    func testGarbageOnTheTriggerSocketIsIgnored() throws {
        let inst = try startQmgrInstance()
        let line = try postconf(inst, ["-M", "qmgr/unix"]).split(whereSeparator: { $0 == " " || $0 == "\n" })
        XCTAssertEqual(line.prefix(2), ["qmgr", "unix"], "master.cf declares qmgr as a unix trigger service")
        let worker = try XCTUnwrap(qmgrWorker(inst))
        let mark = inst.logMark()
        var generator = SystemRandomNumberGenerator()
        let garbage: [[UInt8]] = [
            [0, 0, 0, 0xFF, 0xFE, 0x80],
            Array("\u{1}hello qmgr, this is not a trigger\n".utf8),
            (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) },
            [],
        ]
        for bytes in garbage { try writeTrigger(inst.queue + "/public/qmgr", bytes) }
        try submit(inst, to: "nobody@localhost", subject: "after-garbage")
        XCTAssertTrue(waitUntil(timeout: 60, interval: 0.2) { inst.mailbox("nobody").contains { $0.contains("after-garbage") } },
                      "not delivered after the garbage: \(inst.logTail())")
        XCTAssertEqual(qmgrWorker(inst), worker, "the qmgr process must keep running")
        XCTAssertEqual(inst.logLines(since: mark, containing: "fatal").filter { $0.contains("qmgr") }, [])
        XCTAssertEqual(inst.logLines(since: mark, containing: "panic"), [])
        XCTAssertEqual(inst.logLines(since: mark, containing: "killed by signal"), [])
    }

    /// One trigger connection: connect to the qmgr's UNIX socket, write, close.
    func writeTrigger(_ path: String, _ bytes: [UInt8]) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw HarnessError("connect \(path): \(String(cString: strerror(errno)))") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, bytes.count - sent) }
            guard n > 0 else { throw HarnessError("write \(path): \(String(cString: strerror(errno)))") }
            sent += n
        }
    }
}
