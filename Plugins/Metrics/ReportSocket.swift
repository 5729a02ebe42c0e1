// ReportSocket.swift - reads a report from a UNIX stream socket that writes
// one document and closes (the master's pid/master.metrics, the qmgr's
// query socket): connect, read to EOF.
//
// Guarantees: bounded in time (a receive timeout per read, a deadline for the
// whole report) and in size (at most `limit` bytes, else an error); every
// failure is a ReportError naming the path and the step, never a trap. It
// blocks the worker's event loop for as long as the peer takes; both peers
// answer from their own event loops at once, and the deadline bounds the rest.
import Glibc

struct ReportError: Error, CustomStringConvertible {
    let path: String
    let problem: String
    var description: String { "\(path): \(problem)" }
}

enum ReportSocket {
    static func read(_ path: String, limit: Int = 4 << 20, seconds: Double = 2) throws(ReportError) -> [UInt8] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ReportError(path: path, problem: "socket: " + errnoText()) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ReportError(path: path, problem: "path too long for a socket address")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (index, byte) in bytes.enumerated() { raw[index] = byte } }
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw ReportError(path: path, problem: "connect: " + errnoText()) }
        let deadline = monotonicSeconds() + seconds
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return result }
            if count < 0 {
                if errno == EINTR && monotonicSeconds() < deadline { continue }
                throw ReportError(path: path, problem: errno == EAGAIN ? "no complete report within \(seconds) s" : "read: " + errnoText())
            }
            result += buffer[0..<count]
            if result.count > limit { throw ReportError(path: path, problem: "report longer than \(limit) bytes") }
            if monotonicSeconds() > deadline { throw ReportError(path: path, problem: "no complete report within \(seconds) s") }
        }
    }
}

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func wallSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
