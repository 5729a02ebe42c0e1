// FlushRequest.swift - reading one client's request as stock flush(8) does:
// announce "protocol=queue_flush_protocol", wait up to ipc_timeout for
// data, then choose by how much is waiting: at most two bytes is a master
// trigger (a NUL-terminated string such as the wakeup "W"), anything more is
// one attribute list whose first attribute is `request`, followed by that
// request's attributes in stock's order (see `parse`).
// Guarantees: a client can make the reader wait at most ipc_timeout per
// step and hold at most the decoder's limits in memory; every malformed
// request is an error value (the service answers status 3, as stock).
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI

enum FlushRequest: Equatable {
    case add(site: ByteString, queueID: ByteString)
    case sendSite(ByteString)
    case sendFile(ByteString)
    case refresh
    case purge
    /// A request whose name is known but whose attributes are not as stock expects.
    case malformed
    /// A request name stock ignores without a reply.
    case unknown(ByteString)
}

struct FlushRequestError: Error, CustomStringConvertible {
    let description: String
}

struct FlushRequestReader {
    let fd: Int32
    let peer: String
    let timeout: Double

    /// The wakeup the master sends, as a NUL-terminated string.
    static let wakeup = ByteString("W")

    /// Like stock, a client that went away is not worth a complaint: the
    /// master's wakeup connection closes as soon as the server writes, and
    /// the request it carried must still be done. Write errors are ignored.
    func announce() {
        let greeting = AttrList([.string("protocol", ByteString(FlushProtocol.name))])
        writeAll(greeting.encoded)
    }

    func reply(_ status: FlushStatus) {
        writeAll(AttrList([.int(FlushProtocol.statusAttribute, status.rawValue)]).encoded)
    }

    func read() throws -> (FlushRequest, warnings: [String]) {
        let deadline = MailQueue.Clock.now() + timeout
        guard try waitReadable(until: deadline) else {
            throw FlushRequestError(description: "timeout while waiting for data from \(peer)")
        }
        var waiting: Int32 = 0
        guard ioctl(fd, UInt(FIONREAD), &waiting) == 0 else {
            throw FlushRequestError(description: "cannot examine read buffer of \(peer): \(SystemError.text(errno))")
        }
        if waiting <= 2 { return (Self.trigger(try readNulString(until: deadline)), []) }
        return parse(try readList(until: deadline))
    }

    private static func trigger(_ text: ByteString) -> FlushRequest {
        switch text.description {
        case FlushProtocol.refresh, wakeup.description: return .refresh
        case FlushProtocol.purge: return .purge
        case FlushProtocol.add, FlushProtocol.sendSite, FlushProtocol.sendFile: return .malformed
        default: return .unknown(text)
        }
    }

    /// One list read as stock reads it: `request` first (else BAD), then
    /// that request's attributes in order; a missing or unexpected one ends
    /// the reading with stock's warning, and the request goes ahead only if
    /// all its attributes were read (anything after them is warned about
    /// and ignored). refresh and purge take no attributes and ignore the rest.
    func parse(_ list: AttrList) -> (FlushRequest, warnings: [String]) {
        var warnings: [String] = []
        var rest = list.attributes[...]
        guard let first = rest.popFirst(), first.name == ByteString(FlushProtocol.requestAttribute) else {
            let found = list.attributes.first.map { "unexpected attribute \($0.name)" } ?? "missing attribute request"
            return (.malformed, ["\(found) from \(peer)\(list.attributes.isEmpty ? "" : " (expecting: request)")"])
        }
        func values(_ names: [String]) -> [ByteString]? {
            var out: [ByteString] = []
            for name in names {
                guard let next = rest.popFirst() else {
                    warnings.append("missing attribute \(name) in input from \(peer)")
                    return nil
                }
                guard next.name == ByteString(name) else {
                    warnings.append("unexpected attribute \(next.name) from \(peer) (expecting: \(name))")
                    return nil
                }
                out.append(next.value)
            }
            if let extra = rest.first {
                warnings.append("unexpected attribute \(extra.name) from \(peer) (expecting: (list terminator))")
            }
            return out
        }
        let request: FlushRequest
        switch first.value.description {
        case FlushProtocol.add:
            request = values([FlushProtocol.siteAttribute, FlushProtocol.queueIDAttribute])
                .map { .add(site: $0[0], queueID: $0[1]) } ?? .malformed
        case FlushProtocol.sendSite:
            request = values([FlushProtocol.siteAttribute]).map { .sendSite($0[0]) } ?? .malformed
        case FlushProtocol.sendFile:
            request = values([FlushProtocol.queueIDAttribute]).map { .sendFile($0[0]) } ?? .malformed
        case FlushProtocol.refresh:
            request = .refresh
        case FlushProtocol.purge:
            request = .purge
        default:
            request = .unknown(first.value)
        }
        return (request, warnings)
    }

    // MARK: bounded I/O

    private func readNulString(until deadline: Double) throws -> ByteString {
        var text: [UInt8] = []
        var byte: UInt8 = 0
        while text.count < 1024 {
            guard try waitReadable(until: deadline) else {
                throw FlushRequestError(description: "timeout while reading request from \(peer)")
            }
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw FlushRequestError(description: "error reading request from \(peer): \(SystemError.text(errno))") }
            if n == 0 {
                if text.isEmpty { throw FlushRequestError(description: "end-of-input while reading request from \(peer)") }
                break
            }
            if byte == 0 { break }
            text.append(byte)
        }
        return ByteString(text)
    }

    private func readList(until deadline: Double) throws -> AttrList {
        var decoder = AttrDecoder(peer: peer, limits: AttrDecoder.Limits(maximumStringLength: 64 * 1024, maximumAttributes: 16))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let list = try decoder.nextList() { return list }
            guard try waitReadable(until: deadline) else {
                throw FlushRequestError(description: "timeout while reading request from \(peer)")
            }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw FlushRequestError(description: "error reading request from \(peer): \(SystemError.text(errno))") }
            if n == 0 {
                throw FlushRequestError(description: "end-of-input while reading request from \(peer)")
            }
            decoder.feed(buffer[0..<n])
        }
    }

    private func waitReadable(until deadline: Double) throws -> Bool {
        while true {
            let left = deadline - MailQueue.Clock.now()
            if left <= 0 { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, Int32(min(left * 1000 + 1, Double(Int32.max))))
            if n > 0 { return true }
            if n < 0 && errno != EINTR { throw FlushRequestError(description: "poll \(peer): \(SystemError.text(errno))") }
        }
    }

    private func writeAll(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            sent += n
        }
    }
}
