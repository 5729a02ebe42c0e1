// MasterLog.swift - the master's diagnostics, in the forms Postfix tools expect.
//
// Records go to syslog(3) as "<syslog_name>/master[pid]: [level: ]text", or,
// when maillog_file is set, through PostlogClient (shared with the tools): one
// datagram each to postlogd's public socket, sent through a socket kept
// open from configure() on (logging needs no new descriptor). The master's
// socket is non-blocking (it never waits), falling back to appending to
// maillog_file directly while postlogd is not there or not reading (as the
// stock master does before its postlogd starts). A worker's waits, as a stock
// daemon's does, while postlogd's queue is full: a worker that has dropped
// privileges cannot append to maillog_file, so not waiting lost its records
// under load (seen: qmgr "from=" lines missing at a few hundred messages/s).
// The wait is bounded by a send timeout, after which the file is tried. fatal() logs, pauses one second like Postfix's msg_fatal,
// and exits with status 1.
// Nothing is ever written to stderr: the stock master does not either.
// Each record's text is made printable first, as stock's (PrintableText).
// The process id in each record is cached, not asked of the kernel per
// record, and refreshed in every child of fork() (pthread_atfork), so a
// forked worker never logs its parent's pid.

import Glibc
import CSystem
import ToolSupport
import PostfixText

package enum LogLevel {
    case info, warning, error, fatal, panic

    var prefix: String {
        switch self {
        case .info: return ""
        case .warning: return "warning: "
        case .error: return "error: "
        case .fatal: return "fatal: "
        case .panic: return "panic: "
        }
    }

    var syslogPriority: Int32 {
        switch self {
        case .info: return LOG_INFO
        case .warning: return LOG_WARNING
        case .error: return LOG_ERR
        case .fatal, .panic: return LOG_CRIT
        }
    }
}

/// Where records go; chosen from main.cf by `MasterLog.configure`.
package enum LogSink {
    case syslog
    /// Through postlogd (or straight to maillog_file when `direct`).
    case postlog(PostlogClient, direct: Bool)
}

package enum MasterLog {
    private static var tag = "postfix/master"
    private static var sink = LogSink.syslog
    private static var waitsForPostlogd = false
    /// smtputf8_enable: whether UTF-8 characters stay in records (PrintableText).
    package private(set) static var keepsUTF8 = true
    private static let maxText = 2000

    /// Opens syslog with the tag prefix from MAIL_LOGTAG (before main.cf is read).
    package static func start(program: String) {
        let prefix = getenv("MAIL_LOGTAG").map { String(cString: $0) } ?? "postfix"
        tag = prefix + "/" + program
        cs_openlog(tag, LOG_MAIL)
    }

    /// Switches to the configured tag, facility and sink (start-up and reload).
    /// `waitsForPostlogd`: a worker's records wait for room in postlogd's
    /// queue (bounded) rather than go to the file at once; never the master's.
    package static func configure(syslogName: String, program: String, facility: Int32, sink newSink: LogSink,
                                  keepsUTF8 utf8: Bool, waitsForPostlogd waits: Bool = false) {
        tag = syslogName + "/" + program
        keepsUTF8 = utf8
        cs_closelog()
        cs_openlog(tag, facility)
        sink = newSink
        if waits != waitsForPostlogd {
            waitsForPostlogd = waits
            if ownSocket.fd >= 0 && ownSocket.pid == processID { close(ownSocket.fd) }
            ownSocket = (-1, 0)
        }
        if case .postlog = newSink { _ = postlogSocket() }
    }

    package static func info(_ text: String) { emit(.info, text) }

    /// After chroot(root): postlogd's socket lives under the queue directory,
    /// so it is reached by the same path with the new root cut off (stock
    /// daemons keep their logger socket across chroot for the same reason).
    /// maillog_file, outside the jail, is then out of reach as it is for stock.
    package static func enteredChroot(_ root: String) {
        guard case let .postlog(client, direct) = sink else { return }
        let prefix = root.hasSuffix("/") ? String(root.dropLast()) : root
        guard !prefix.isEmpty, client.socketPath.hasPrefix(prefix + "/") else { return }
        let inside = String(client.socketPath.dropFirst(prefix.count))
        sink = .postlog(PostlogClient(socketPath: inside, file: client.file, hostLabel: client.hostLabel), direct: direct)
    }

    /// For the last words of a terminating master: postlogd is being
    /// terminated too, so records go straight to maillog_file.
    package static func bypassPostlog() {
        if case let .postlog(client, _) = sink { sink = .postlog(client, direct: true) }
    }
    package static func warning(_ text: String) { emit(.warning, text) }
    package static func error(_ text: String) { emit(.error, text) }

    package static func fatal(_ text: String) -> Never {
        emit(.fatal, text)
        exitAfterFatal()
    }

    /// What follows a fatal record: a one-second pause, as Postfix's
    /// msg_fatal makes, then exit status 1.
    package static func exitAfterFatal() -> Never {
        sleep(1)
        exit(1)
    }

    package static func emit(_ level: LogLevel, _ text: String) {
        emit(level, printable: PrintableText.text(text, utf8: keepsUTF8))
    }

    /// A record whose text was made printable already (a plugin's, which
    /// is filtered as bytes before it is decoded): not scanned again.
    package static func emit(_ level: LogLevel, printable text: String) {
        switch sink {
        case .syslog:
            let cut = text.utf8.count <= maxText ? text : String(text.prefix(maxText))
            cs_syslog(level.syslogPriority, level == .info ? cut : level.prefix + cut)
        case let .postlog(client, direct):
            // PostlogClient cuts the text to its maximum itself.
            client.log(tag: tag, prefix: level.prefix, text: text, pid: processID, direct: direct,
                       through: postlogSocket())
        }
    }

    /// This process's id, kept current across fork() by the child handler
    /// registered with the first read.
    package static var processID: pid_t {
        _ = forkHandlerRegistered
        return cachedPID
    }

    private static var cachedPID = getpid()
    private static let forkHandlerRegistered: Bool = {
        pthread_atfork(nil, nil) { MasterLog.cachedPID = getpid() } == 0
    }()

    /// Kept open, as stock keeps its logger socket, so that a process at its
    /// open-file limit can still say so. The master's is non-blocking, unlike
    /// stock's, so that a postlogd that cannot start (its queue full) never
    /// stops the master: records then go to maillog_file. A worker's blocks
    /// for at most `workerSendTimeout` seconds a record. Owned by the process
    /// that opened it: a forked child opens its own rather than trust an
    /// inherited number.
    private static var ownSocket: (fd: Int32, pid: pid_t) = (-1, 0)
    static let workerSendTimeout = 10

    private static func postlogSocket() -> Int32? {
        let pid = processID
        if ownSocket.fd < 0 || ownSocket.pid != pid {
            let fd = waitsForPostlogd
                ? PostlogClient.openSocket(sendTimeout: workerSendTimeout)
                : PostlogClient.openSocket(nonBlocking: true)
            ownSocket = (fd, pid)
        }
        return ownSocket.fd >= 0 ? ownSocket.fd : nil
    }

    /// Looks up a syslog facility by its Postfix name (mail, local0, ...).
    static func facility(named name: String) -> Int32? {
        let table: [String: Int32] = [
            "auth": LOG_AUTH, "authpriv": LOG_AUTHPRIV, "cron": LOG_CRON, "daemon": LOG_DAEMON,
            "ftp": LOG_FTP, "kern": LOG_KERN, "lpr": LOG_LPR, "mail": LOG_MAIL, "news": LOG_NEWS,
            "syslog": LOG_SYSLOG, "user": LOG_USER, "uucp": LOG_UUCP,
            "local0": LOG_LOCAL0, "local1": LOG_LOCAL1, "local2": LOG_LOCAL2, "local3": LOG_LOCAL3,
            "local4": LOG_LOCAL4, "local5": LOG_LOCAL5, "local6": LOG_LOCAL6, "local7": LOG_LOCAL7,
        ]
        return table[name.lowercased()]
    }
}
