// ScriptedPeer: a one-connection UNIX-domain server for tests: it accepts
// one connection, runs a script on it in a thread (write garbage, hang up,
// answer slowly...), then closes it. A real socket, never a mock: the
// client under test talks to it exactly as to a Postfix service.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-connection UNIX-domain server running `script` on the accepted
/// descriptor in a thread, then closing it: a peer that misbehaves on purpose.
public final class ScriptedPeer: @unchecked Sendable {
    public let path: String
    private let listener: Int32
    private let done = DoneFlag()

    /// Set once by the peer thread, awaited by the test.
    final class DoneFlag: @unchecked Sendable {
        private let condition = NSCondition()
        private var isSet = false
        func set() { condition.lock(); isSet = true; condition.broadcast(); condition.unlock() }
        func wait() {
            condition.lock()
            let deadline = Date().addingTimeInterval(10)
            while !isSet && condition.wait(until: deadline) {}
            condition.unlock()
        }
    }

    /// Listens on `path` (default: a new temporary name), mode 0666.
    public init(path: String? = nil, _ script: @escaping @Sendable (Int32) -> Void) throws {
        self.path = path ?? NSTemporaryDirectory() + "mq-peer-\(getpid())-\(UUID().uuidString.prefix(8))"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(self.path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0, chmod(self.path, 0o666) == 0, listen(listener, 4) == 0 else {
            throw HarnessError("cannot listen on \(self.path): \(errno)")
        }
        let fd = listener
        let flag = done
        Thread {
            let conn = accept(fd, nil, nil)
            if conn >= 0 {
                script(conn)
                Glibc.close(conn)
            }
            flag.set()
        }.start()
    }

    @discardableResult
    public static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    public func waitDone() { done.wait() }

    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        waitDone()
        Glibc.close(listener)
        unlink(path)
    }
}
