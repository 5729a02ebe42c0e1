// StatusRequestChannel: one message-level notice request (bounce flush,
// VERP flush, defer flush, delay warning, trace flush) to bounce(8) running
// as bounce, defer or trace, non-blocking like stock's asynchronous client
// (abounce): connect, greeting "delivery_status_protocol", the request,
// one reply list with an INT `status`.
//
// Guarantees: driven by readiness (Readiness); `status` is the service's
// answer (0 = done) or -1 for any failure on the way (connect, I/O,
// timeout, garbage), as stock's completion callback sees it; `failure`
// keeps the error. (Stock's "status=deferred (<what> failed)" line is
// MessageCompletion's.)
import MailQueue

public final class StatusRequestChannel: ReadinessDriven {
    public let request: StatusNoticeRequest
    public let service: String
    public let exchange: AttrExchange

    public init(_ request: StatusNoticeRequest, service: String, services: StatusServices, now: Double,
                watchdog: Double = 1000) {
        self.request = request
        self.service = service
        exchange = AttrExchange(path: services.path(service), peer: "private/" + service,
                                protocolName: StatusServiceClient.protocolName,
                                timeouts: ExchangeTimeouts(ipc: services.timeout, watchdog: watchdog), now: now)
        sendWhenGreeted(now: now)
    }

    public var descriptor: Int32? { exchange.descriptor }
    public var willClose: ((Int32) -> Void)? {
        get { exchange.willClose }
        set { exchange.willClose = newValue }
    }
    public var interest: Interest { exchange.interest }
    public var deadline: Double? { exchange.deadline }
    public var isSettled: Bool { status != nil }

    public func handle(_ events: ReadyEvents, now: Double) {
        exchange.handle(events, now: now)
        sendWhenGreeted(now: now)
    }

    public func checkDeadline(now: Double) { exchange.checkDeadline(now: now) }

    /// The service's status, -1 for a failed request; nil while in progress.
    public var status: Int? {
        switch exchange.state {
        case .failed, .abandoned: return -1
        case .replied(let list):
            var s = AttrScanner(list, peer: exchange.peer)
            guard let status = try? s.signedInt("status"), (try? s.finish()) != nil else { return -1 }
            return status
        default: return nil
        }
    }

    /// Why the request failed, when it failed on the way (not when the service said no).
    public var failure: String? {
        switch exchange.state {
        case .failed(let e): return e.description
        case .replied(let list):
            var s = AttrScanner(list, peer: exchange.peer)
            do {
                _ = try s.signedInt("status")
                try s.finish()
                return nil
            } catch {
                return error.description
            }
        default: return nil
        }
    }

    private func sendWhenGreeted(now: Double) {
        if exchange.state == .greeted { exchange.send(request.list.encoded, now: now) }
    }
}
