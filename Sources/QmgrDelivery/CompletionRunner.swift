// CompletionRunner: runs a MessageCompletion to its decision with each
// status request made synchronously: a StatusRequestChannel driven by
// PollDriver, so every request is bounded by the services' IPC timeout
// and the watchdog. This blocks the caller for as long as bounce, defer
// or trace take to answer; an event-driven caller runs the channels from
// its loop instead and calls `resume` itself.
import MailQueue

public enum CompletionRunner {
    public struct Result: Equatable, Sendable {
        public var decision: CompletionDecision
        public var info: [String]
        public var warnings: [String]
        /// Why requests failed on the way (stock logs only that they failed).
        public var requestFailures: [String]
    }

    public static func run(_ completion: MessageCompletion, watchdog: Double = 1000) -> Result {
        var failures: [String] = []
        while true {
            switch completion.next() {
            case .finished(let decision):
                return Result(decision: decision, info: completion.info, warnings: completion.warnings,
                              requestFailures: failures)
            case .request(let request, let service):
                let channel = StatusRequestChannel(request, service: service, services: completion.services,
                                                   now: Clock.now(), watchdog: watchdog)
                PollDriver.run(channel)
                if let f = channel.failure { failures.append(f) }
                completion.resume(status: channel.status ?? -1)
            }
        }
    }
}
