// SystemdNotify.swift - the sd_notify protocol, spoken by the master itself.
//
// When systemd starts the master with NOTIFY_SOCKET set (Type=notify), the
// master tells it, in newline-separated VARIABLE=value datagrams:
//   READY=1            every listener is open and the first wakeups are
//                      scheduled (start-up), or a reload has finished;
//                      with MAINPID= when `master -w` forked, so the master
//                      is not the process systemd started;
//   RELOADING=1        a SIGHUP is being handled, with MONOTONIC_USEC= (the
//                      CLOCK_MONOTONIC time, which Type=notify-reload needs);
//                      READY=1 follows once the new configuration runs, or
//                      once a bad one was refused (STATUS= says why);
//   STOPPING=1         on a termination signal or at `-e` exit time;
//   WATCHDOG=1         every half WATCHDOG_USEC, from an event-loop timer,
//                      so a stuck loop stops feeding systemd's watchdog;
//   STATUS=            services, processes, busy and throttled services,
//                      sent when it changes, at most once a second.
// Guarantees: nothing is sent unless NOTIFY_SOCKET was set when the master
// started; no libsystemd; each message is one datagram, sent without
// blocking from a socket made for it and closed at once (no descriptor is
// held, so none reaches the workers forked without exec); a failed send is
// never fatal and is logged once. The variables are read before the
// environment is replaced by import_environment and are never passed on to
// children (see MasterEnvironment).

import Glibc
import CSystem

/// What systemd put in the environment for the master, read at start-up.
struct SystemdEnvironment {
    static let variables = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]

    let socketName: String
    /// Half of WATCHDOG_USEC, when the watchdog is ours.
    let watchdogInterval: Double?

    /// nil when NOTIFY_SOCKET is unset or empty. `startPid` is the pid the
    /// master started with: under `master -w` the forked master takes the
    /// place (MAINPID=) of the process WATCHDOG_PID names.
    static func read(startPid: pid_t) -> SystemdEnvironment? {
        guard let name = variable("NOTIFY_SOCKET"), !name.isEmpty else { return nil }
        return SystemdEnvironment(socketName: name, watchdogInterval: watchdogInterval(startPid: startPid))
    }

    private static func watchdogInterval(startPid: pid_t) -> Double? {
        guard let text = variable("WATCHDOG_USEC") else { return nil }
        guard let usec = UInt64(text), usec > 0 else {
            MasterLog.warning("systemd: ignoring WATCHDOG_USEC=\(text): not a positive number of microseconds")
            return nil
        }
        if let owner = variable("WATCHDOG_PID") {
            guard let pid = pid_t(owner), pid == getpid() || pid == startPid else { return nil }
        }
        return Double(usec) / 2e6
    }

    private static func variable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

final class SystemdNotify {
    private static let statusInterval = 1.0
    private let address: String
    private let loop: EventLoop
    private let summary: () -> MasterSummary
    private var warned = false
    private var reloading = false
    /// Why the configuration on disk is not the one running, until a reload succeeds.
    private var note: String?
    private var lastStatus = ""
    private var lastStatusTime = -Double.infinity
    private var statusTimer: EventLoop.TimerID?

    init(_ environment: SystemdEnvironment, loop: EventLoop, summary: @escaping () -> MasterSummary) {
        address = environment.socketName
        self.loop = loop
        self.summary = summary
        if let interval = environment.watchdogInterval { feedWatchdog(every: interval) }
    }

    // MARK: life cycle

    /// Start-up is complete; `forked` when `master -w` made us a new process.
    func started(forked: Bool) {
        var fields = ["READY=1", currentStatus()]
        if forked { fields.append("MAINPID=\(getpid())") }
        send(fields)
    }

    /// A SIGHUP is being handled (once per reload, however many SIGHUPs).
    func reloading(monotonicMicroseconds: UInt64 = SystemdNotify.monotonicMicroseconds()) {
        guard !reloading else { return }
        reloading = true
        send(["RELOADING=1", "MONOTONIC_USEC=\(monotonicMicroseconds)", "STATUS=reloading the configuration"])
    }

    /// The new configuration runs.
    func reloaded() {
        reloading = false
        note = nil
        send(["READY=1", currentStatus()])
    }

    /// The new configuration was refused and the running one stays.
    func reloadFailed(_ reason: String) {
        reloading = false
        note = "reload failed, running the previous configuration: " + reason
        send(["READY=1", currentStatus()])
    }

    func stopping(_ why: String) {
        send(["STOPPING=1", "STATUS=" + why])
    }

    // MARK: status

    /// Services or processes may have changed: the status goes out at most
    /// once per statusInterval, and only when its text is new.
    func stateChanged() {
        guard statusTimer == nil else { return }
        let wait = max(0, lastStatusTime + Self.statusInterval - EventLoop.now())
        statusTimer = loop.after(wait) { [unowned self] in
            statusTimer = nil
            let status = currentStatus()
            if status != lastStatus { send([status]) }
        }
    }

    private func currentStatus() -> String {
        "STATUS=" + (note.map { $0 + " -- " } ?? "") + summary().text
    }

    // MARK: sending

    private func feedWatchdog(every interval: Double) {
        send(["WATCHDOG=1"])
        loop.after(interval) { [unowned self] in feedWatchdog(every: interval) }
    }

    private func send(_ fields: [String]) {
        if let status = fields.first(where: { $0.hasPrefix("STATUS=") }) {
            lastStatus = status
            lastStatusTime = EventLoop.now()
        }
        if let failure = Self.sendDatagram(fields.joined(separator: "\n"), to: address), !warned {
            warned = true
            MasterLog.warning("systemd: cannot notify \(address): \(failure) (logged once; the master carries on)")
        }
    }

    /// Returns an error text, or nil once the datagram is sent.
    private static func sendDatagram(_ text: String, to name: String) -> String? {
        var target = UnixAddress(pathOrAbstractName: name)
        guard target.fits else { return "socket name too long" }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "socket: \(errnoText())" }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let sent = target.withSockaddr { address, length in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), address, length) }
        }
        if sent < 0 { return "sendto: \(errnoText())" }
        return sent == bytes.count ? nil : "sendto: short datagram"
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
