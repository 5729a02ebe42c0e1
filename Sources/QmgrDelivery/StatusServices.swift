// StatusServices: where the status daemons are and how long a synchronous
// request to them may take: bounce_service_name, defer_service_name,
// trace_service_name and address_verify_service_name under
// queue_directory/private, with stock's defaults.
public struct StatusServices: Equatable, Sendable {
    public var queueDirectory: String
    public var bounce: String
    public var `defer`: String
    public var trace: String
    public var verify: String
    /// Seconds one synchronous request may take (stock: ipc_timeout).
    public var timeout: Double

    public init(queueDirectory: String, bounce: String = "bounce", defer: String = "defer", trace: String = "trace",
                verify: String = "verify", timeout: Double = 60) {
        self.queueDirectory = queueDirectory
        self.bounce = bounce
        self.defer = `defer`
        self.trace = trace
        self.verify = verify
        self.timeout = timeout
    }

    public func path(_ service: String) -> String { queueDirectory + "/private/" + service }
}
