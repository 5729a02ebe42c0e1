// Client.swift - one client connection: its descriptor and bounded,
// EINTR-safe reads and writes on it.
//
// The host owns the connection (it closes it); a Client never closes the fd.
import Glibc
import MailhostPluginABI

public struct Client {
    /// The host's opaque connection handle (mh_client *).
    public let handle: OpaquePointer?
    /// The connection's descriptor, or -1 when the host cannot tell.
    public let fd: Int32

    public init(handle: OpaquePointer?, table: HostTable) {
        self.handle = handle
        self.fd = table.clientFD.map { $0(handle) } ?? -1
    }

    /// Reads what is available, at most `maximum` bytes; empty at end of file.
    public func read(maximum: Int = 4096) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(1, maximum))
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno != EINTR { throw PluginError("read: error \(errno)") }
        }
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw PluginError("write: error \(errno)")
            }
            offset += count
        }
    }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }
}

/// Splits a byte stream into lines (without the "\n"), carrying partial lines
/// between reads. Lines longer than `limit` are cut, so memory stays bounded.
public struct LineReader {
    private var pending: [UInt8] = []
    public let limit: Int

    public init(limit: Int = 65536) { self.limit = limit }

    /// Adds bytes and returns the complete lines they finish.
    public mutating func feed(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in bytes {
            if byte == 10 || pending.count >= limit {
                lines.append(pending)
                pending.removeAll(keepingCapacity: true)
                if byte == 10 { continue }
            }
            pending.append(byte)
        }
        return lines
    }

    /// What is left after the last newline (at end of file).
    public var remainder: [UInt8] { pending }
}
