// HTTPConnection.swift - one client connection of the metrics service,
// driven by the host's watches and timers: read a request head, answer,
// and either wait for the next request (keep-alive) or end.
//
// Guarantees: the descriptor is non-blocking and the worker never waits on
// a client; input is bounded by the header limit (nothing more is read
// while a head is incomplete beyond it: 431 and close); each request head
// must be complete within the request timeout, counted from the connection
// or the previous response, whatever the client trickles in (slowloris):
// otherwise the connection ends without a response; while a response is
// being written nothing is read, so a client that does not read cannot make
// the worker buffer more than one response; every ending goes through
// `finish`, which cancels the timer and hands the connection back to the host.
import Glibc
import PluginAPI

struct HTTPResponse {
    let status: Int
    let reason: String
    let headers: [(String, String)]
    let contentType: String
    let body: [UInt8]
    var omitBody = false
    var close = false

    static func plain(_ status: Int, _ reason: String, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, reason: reason, headers: [], contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    var bytes: [UInt8] {
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (omitBody ? [] : body)
    }
}

final class HTTPConnection {
    private let client: Client
    private let host: ServiceHost
    private unowned let service: MetricsService
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var written = 0
    private var closeAfterWrite = false
    private var deadline: TimerID?
    private(set) var finished = false

    init(client: Client, host: ServiceHost, service: MetricsService) {
        self.client = client
        self.host = host
        self.service = service
    }

    func start() {
        let flags = fcntl(client.fd, F_GETFL)
        guard flags >= 0, fcntl(client.fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return finish() }
        do {
            try host.watch(client.fd, for: .read) { [unowned self] _, events in self.ready(events) }
        } catch {
            host.warning("metrics: \(error)")
            return finish()
        }
        armDeadline()
    }

    /// Over the connection limit: a best-effort 503, then the end.
    func refuse() {
        var response = HTTPResponse.plain(503, "Service Unavailable", "too many connections\n")
        response.close = true
        let bytes = response.bytes
        _ = bytes.withUnsafeBytes { Glibc.send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        finish()
    }

    private func armDeadline() {
        if let deadline { host.cancelTimer(deadline) }
        deadline = try? host.startTimer(milliseconds: service.limits.requestMilliseconds) { [unowned self] in
            self.deadline = nil
            self.finish()
        }
    }

    private func ready(_ events: EventMask) {
        guard !finished else { return }
        if !output.isEmpty { return flush() }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { return finish() }
        if count > 0 { input += buffer[0..<count] }
        process()
    }

    /// Answers the complete request at the head of the input, if any.
    private func process() {
        switch HTTPHead.parse(input[...], limit: service.limits.headerBytes) {
        case .incomplete:
            return
        case .malformed(let why):
            answer(closing: .plain(400, "Bad Request", why + "\n"))
        case .tooLarge:
            answer(closing: .plain(431, "Request Header Fields Too Large", "request head over \(service.limits.headerBytes) bytes\n"))
        case .bodyRefused:
            answer(closing: .plain(413, "Content Too Large", "this service takes no request body\n"))
        case .request(let request):
            input.removeFirst(request.length)
            var response = service.respond(to: request)
            response.close = !request.keepAlive
            send(response)
        }
    }

    private func answer(closing response: HTTPResponse) {
        var response = response
        response.close = true
        input.removeAll()
        send(response)
    }

    private func send(_ response: HTTPResponse) {
        output = response.bytes
        written = 0
        closeAfterWrite = response.close
        flush()
    }

    private func flush() {
        while written < output.count {
            let count = output[written...].withUnsafeBytes {
                Glibc.send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    do { try host.setWatchMask(client.fd, to: .write) } catch { return finish() }
                    return
                }
                return finish()
            }
            written += count
        }
        output = []
        if closeAfterWrite { return finish() }
        do { try host.setWatchMask(client.fd, to: .read) } catch { return finish() }
        armDeadline()
        process()
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        if let deadline { host.cancelTimer(deadline) }
        deadline = nil
        host.done(client)
    }
}
