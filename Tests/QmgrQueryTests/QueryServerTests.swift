// QueryServerTests: the query socket and server over real UNIX sockets, with
// a poll(2) loop standing in for the worker's event loop: the socket is made
// root-only (0600, owner root) replacing a stale file, and a non-root process
// can neither connect nor, were the mode widened, get the document; a client
// gets the whole document then EOF; a client that never reads is dropped
// after the limit's seconds; clients beyond the limit get EOF at once.
import Foundation
import XCTest
import Glibc
import TestSupport
import QmgrQuery

final class QueryServerTests: XCTestCase {
    var dir = ""
    var path: String { dir + "/qmgr.query" }
    var server: QueryServer?
    let loop = PollLoop()
    var warnings: [String] = []

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw HarnessError("QueryServerTests need root (the socket is root-only)") }
        signal(SIGPIPE, SIG_IGN)
        var template = Array("/tmp/qmgr-query-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp: \(errno)") }
        dir = String(cString: made)
        chmod(dir, 0o755)
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func serve(_ document: String, limits: QueryLimits = QueryLimits()) throws -> QueryServer {
        let fd = try QuerySocket.listen(path: path)
        let s = QueryServer(listener: fd, loop: loop.queryLoop, limits: limits, label: path,
                            warn: { [unowned self] in self.warnings.append($0) }, document: { document })
        try s.start()
        server = s
        return s
    }

    /// Reads until EOF or error, waiting at most `seconds` per read.
    func readAll(_ fd: Int32, seconds: Int = 5) -> [UInt8] {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return data }
            data += chunk[0..<n]
        }
    }

    func testSocketIsRootOnlyAndReplacesAStaleFile() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("stale".utf8)))
        _ = try serve("{}")
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
        XCTAssertEqual(st.st_uid, 0)
        XCTAssertEqual(try asNobody(connectingTo: path), .connectFailed(EACCES))
    }

    func testNonRootPeerGetsNothingEvenWhenTheModeIsWidened() throws {
        _ = try serve("{\"version\":1}")
        XCTAssertEqual(chmod(path, 0o666), 0)
        XCTAssertEqual(try asNobody(connectingTo: path), .read(0))
        XCTAssertEqual(warnings, ["\(path): refusing a connection from uid 65534"])
    }

    func testClientGetsTheWholeDocumentThenEOF() throws {
        let document = "{\"version\":1,\"pad\":\"" + String(repeating: "x", count: 300_000) + "\"}"
        let s = try serve(document)
        for _ in 0..<3 {
            let client = try XCTUnwrap(UnixSocket.connect(path))
            defer { close(client) }
            // Read on another thread while the loop writes: the document is larger than the socket buffer.
            let reader = Reader(client)
            XCTAssertTrue(loop.run(until: { reader.done && s.clientCount == 0 }, seconds: 10))
            XCTAssertEqual(String(decoding: reader.data, as: UTF8.self), document)
        }
        XCTAssertEqual(loop.watchedCount, 1, "only the listener is watched afterwards")
    }

    func testClientThatNeverReadsIsDropped() throws {
        let big = String(repeating: "y", count: 8 << 20)
        let s = try serve(big, limits: QueryLimits(clients: 4, seconds: 0.5))
        let client = try XCTUnwrap(UnixSocket.connect(path))
        defer { close(client) }
        XCTAssertTrue(loop.run(until: { s.clientCount == 1 }, seconds: 5), "accepted")
        XCTAssertTrue(loop.run(until: { s.clientCount == 0 }, seconds: 10), "dropped after 0.5 s")
        let got = readAll(client)
        XCTAssertLessThan(got.count, big.utf8.count, "the tail was never written")
        XCTAssertEqual(loop.watchedCount, 1)
    }

    func testClientsBeyondTheLimitGetEOFAtOnce() throws {
        let big = String(repeating: "z", count: 8 << 20)
        let s = try serve(big, limits: QueryLimits(clients: 2, seconds: 2))
        let first = try XCTUnwrap(UnixSocket.connect(path))
        let second = try XCTUnwrap(UnixSocket.connect(path))
        defer { close(first); close(second) }
        XCTAssertTrue(loop.run(until: { s.clientCount == 2 }, seconds: 5))
        let third = try XCTUnwrap(UnixSocket.connect(path))
        defer { close(third) }
        let reader = Reader(third)
        XCTAssertTrue(loop.run(until: { reader.done }, seconds: 5), "closed while the two are still served")
        XCTAssertEqual(reader.data.count, 0)
        XCTAssertEqual(s.clientCount, 2)
        XCTAssertTrue(loop.run(until: { s.clientCount == 0 }, seconds: 10), "both expire")
    }

    // MARK: helpers

    enum NobodyResult: Equatable { case connectFailed(Int32), read(Int), childFailed(Int32) }

    /// In a child running as nobody (65534): connect to `path` and read to EOF.
    /// Only system calls run in the child; the parent runs the loop meanwhile.
    func asNobody(connectingTo path: String) throws -> NobodyResult {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let child = fork()
        if child == 0 {
            var groups: [gid_t] = [65534]
            guard setgroups(1, &groups) == 0, setgid(65534) == 0, setuid(65534) == 0 else { _exit(120) }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if connected != 0 { _exit(errno == EACCES ? 121 : 122) }
            var total = 0
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                total += n
            }
            _exit(Int32(min(total, 100)))
        }
        guard child > 0 else { throw HarnessError("fork: \(errno)") }
        var status: Int32 = 0
        let exited = loop.run(until: { waitpid(child, &status, WNOHANG) == child }, seconds: 10)
        if !exited { kill(child, SIGKILL); waitpid(child, &status, 0); throw HarnessError("the nobody client hung") }
        let code = (status >> 8) & 0xff
        switch code {
        case 121: return .connectFailed(EACCES)
        case 120, 122: return .childFailed(code)
        default: return .read(Int(code))
        }
    }
}

/// Reads a descriptor to EOF on its own thread.
final class Reader: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var finished = false

    init(_ fd: Int32) {
        Thread.detachNewThread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &chunk, chunk.count, 0)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                lock.withLock { bytes += chunk[0..<n] }
            }
            lock.withLock { finished = true }
        }
    }

    var done: Bool { lock.withLock { finished } }
    var data: [UInt8] { lock.withLock { bytes } }
}
