// TriggerRequest.swift - how a trigger-model worker reads one request.
//
// As Postfix's trigger_server: a connection (unix, inet, pass) is given up to
// `wait` milliseconds to deliver data, a FIFO is read at once; one read() of
// at most `limit` bytes is the request, and a request that brings nothing
// (timeout, EOF, error) is no request. The result is never longer than what
// read() returned nor than `limit`.

import Glibc

public enum TriggerRequest {
    public static let limit = 1024
    /// How long a connection may take to send its request (milliseconds).
    public static let connectionWait: Int32 = 10_000

    /// The request waiting on `fd`, empty when there is none. (On a
    /// connection the request is usually there already when it is
    /// accepted: it is first read without waiting, and poll is called only
    /// when nothing has arrived yet.)
    public static func read(from fd: Int32, wait: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        var count: Int
        if wait > 0 {
            count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, wait) <= 0 { return [] }
                count = Glibc.read(fd, &buffer, buffer.count)
            }
        } else {
            count = Glibc.read(fd, &buffer, buffer.count)
        }
        return count > 0 ? Array(buffer[0..<count]) : []
    }
}
