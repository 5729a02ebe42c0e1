// PostlogRecordTests.swift - the records MasterLog and the tools send to
// postlogd: their form, the level prefix, and the 2000-byte cut, read from a
// real datagram socket standing where postlogd's would.
import XCTest
import Glibc
@testable import ToolSupport

final class PostlogRecordTests: XCTestCase {
    private var directory = ""
    private var receiver: Int32 = -1

    override func setUpWithError() throws {
        directory = try XCTUnwrap(mkdtemp(strdup("/tmp/postlog-record-XXXXXX")).map { String(cString: $0) })
        receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array((directory + "/postlog").utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0, "bind \(directory)/postlog: errno \(errno)")
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    override func tearDown() {
        close(receiver)
        unlink(directory + "/postlog")
        unlink(directory + "/maillog")
        rmdir(directory)
    }

    private var client: PostlogClient {
        PostlogClient(socketPath: directory + "/postlog", file: directory + "/maillog", hostLabel: "vm")
    }

    private func receive() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 8192)
        let count = recv(receiver, &buffer, buffer.count, 0)
        XCTAssertGreaterThan(count, 0, "no datagram: errno \(errno)")
        return Array(buffer.prefix(max(count, 0)))
    }

    func testRecordFormWithLevelPrefix() throws {
        client.log(tag: "postfix/qmgr", prefix: "warning: ", text: "ABC123: hello", pid: 4242)
        let record = String(decoding: try receive(), as: UTF8.self)
        let parts = record.split(separator: " ", maxSplits: 3).map(String.init)
        XCTAssertEqual(parts.count, 4)
        XCTAssertEqual(parts.count == 4 ? parts[3] : "",
                       "vm postfix/qmgr[4242]: warning: ABC123: hello", "the record: \(record)")
        XCTAssertEqual(record.count, "Nov 30 21:48:43 ".count + "vm postfix/qmgr[4242]: warning: ABC123: hello".count)
    }

    func testLongTextIsCutAt2000BytesNeverInsideACharacter() throws {
        // 1999 ASCII bytes then "é" (2 bytes): the cut at 2000 would split it.
        client.log(tag: "postfix/t", text: String(repeating: "a", count: 1999) + "é" + "tail", pid: 1)
        let record = try receive()
        let text = record.split(separator: UInt8(ascii: "]"), maxSplits: 1).last.map { Array($0.dropFirst(2)) } ?? []
        XCTAssertEqual(text.count, 1999, "cut before the two-byte character")
        XCTAssertNotNil(String(validating: record, as: UTF8.self), "the record is valid UTF-8")

        client.log(tag: "postfix/t", text: String(repeating: "b", count: 2500), pid: 1)
        let second = try receive()
        XCTAssertEqual(second.suffix(2001).first, UInt8(ascii: " "), "exactly 2000 bytes of text")
        XCTAssertEqual(second.suffix(2000), ArraySlice(repeating: UInt8(ascii: "b"), count: 2000))
    }

    func testWithoutPostlogdTheRecordGoesToTheFile() throws {
        close(receiver)
        unlink(directory + "/postlog")
        receiver = -1
        client.log(tag: "postfix/t", text: "to the file", pid: 7)
        let fd = open(directory + "/maillog", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0, "maillog not written")
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &buffer, buffer.count)
        close(fd)
        let line = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
        XCTAssertTrue(line.hasSuffix(" vm postfix/t[7]: to the file\n"), line)
    }
}
