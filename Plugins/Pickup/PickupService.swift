// PickupService.swift - pickup(8) as a trigger-model plugin, for master.cf's
// unchanged `pickup unix n - y 60 1 pickup` line. PRE_INIT (root, before
// any chroot) looks up mail_owner and loads the time zone; INIT (after the
// jail) runs as mail_owner even when master.cf's unprivileged column says n,
// as stock pickup insists, reads the settings (a bad value ends the process
// with stock's text) and declares the service solitary. Every wakeup or trigger scans maildrop
// (relative to the queue directory, which is also the jail) until a pass
// removes nothing, copying each complete file into cleanup (MessageCopy)
// and then removing it, or leaving it, as stock pickup decides.
// Guarantees: a file is removed only after cleanup accepted it, or when
// stock would remove it (malformed, or refused for good); files still being
// written are never opened; one bad file never stops the scan.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI

final class PickupService: TriggerServer {
    static let name = "pickup"
    static let version = "1.0"
    static var requiredCapabilities: Capabilities { [.parameters, .logging, .triggers, .lifecycle] }

    /// mail_owner's uid and gid, found before the chroot (no passwd file in the jail).
    nonisolated(unsafe) private static var ownerUID: uid_t?
    nonisolated(unsafe) private static var ownerGID: gid_t = 0

    private let settings: PickupSettings
    private let host: ServiceHost

    static func preInit(host: ServiceHost) throws {
        tzset()
        let owner = host.string("mail_owner", default: "postfix")
        guard let entry = getpwnam(owner) else {
            let config = host.string("config_directory", default: "/etc/postfix")
            host.fatal("file \(config)/main.cf: parameter mail_owner: unknown user name value: \(owner)")
        }
        ownerUID = entry.pointee.pw_uid
        ownerGID = entry.pointee.pw_gid
    }

    /// Maildrop files are written by any local user: never read them as
    /// root, whatever master.cf's unprivileged column says.
    private static func becomeMailOwner(host: ServiceHost) {
        guard let uid = ownerUID, getuid() != uid else { return }
        var groups = [ownerGID]
        if setgid(ownerGID) < 0 { host.fatal("setgid(\(ownerGID)): \(SystemError.text(errno))") }
        if setgroups(1, &groups) < 0 { host.fatal("setgroups(1, &\(ownerGID)): \(SystemError.text(errno))") }
        if setuid(uid) < 0 { host.fatal("setuid(\(uid)): \(SystemError.text(errno))") }
    }

    init(host: ServiceHost) throws {
        self.host = host
        Self.becomeMailOwner(host: host)
        do {
            settings = try PickupSettings(host: host)
        } catch {
            host.fatal("\(error)")
        }
        if !host.arguments.isEmpty { host.fatal("unexpected command-line argument: \(host.arguments[0])") }
        try host.declare(solitary: true, longLived: false)
        try host.setWatchdog(seconds: settings.daemonTimeout)
    }

    func trigger(data: [UInt8], host: ServiceHost) throws {
        scanMaildrop()
    }

    /// Passes over maildrop until one removes nothing (mail may keep arriving).
    private func scanMaildrop() {
        var removed: Int
        repeat {
            removed = 0
            guard let names = Maildrop.names() else {
                host.warning("open directory \(Maildrop.directory): \(SystemError.text(errno))")
                return
            }
            for name in names {
                guard let entry = Maildrop.readyEntry(name, warn: host.warning) else { continue }
                if pickUp(entry) == .remove {
                    if unlink(entry.path) < 0 {
                        host.warning("remove \(entry.path): \(SystemError.text(errno))")
                    } else {
                        removed += 1
                    }
                }
            }
        } while removed > 0
    }

    /// Opens the file, hands it to cleanup, and says what becomes of it.
    private func pickUp(_ entry: MaildropEntry) -> FileFate {
        let file: Maildrop.OpenFile
        do {
            file = try Maildrop.open(entry)
        } catch {
            return refusedOpen(entry, error)
        }
        defer { close(file.descriptor) }
        let requeued = entry.status.st_uid == PickupService.ownerUID && entry.status.st_mode & S_IROTH == 0
        let cleanup: CleanupSubmission
        do {
            cleanup = try CleanupSubmission(path: settings.cleanupSocket, peer: settings.cleanupSocket,
                                            flags: settings.cleanupFlags(requeued: requeued),
                                            timeout: settings.ipcTimeout)
        } catch {
            host.warning("\(error)")
            return .keep
        }
        var copy: MessageCopy
        do {
            copy = try MessageCopy(entry: entry, file: file, settings: settings, requeued: requeued) { [host] level, text in
                host.log(level, text)
            }
        } catch {
            host.warning("open input file \(entry.path): \(error.problemText)")
            cleanup.close()
            return .keep
        }
        let fate = copy.run(into: cleanup)
        cleanup.close()
        return fate
    }

    private func refusedOpen(_ entry: MaildropEntry, _ failure: OpenFailure) -> FileFate {
        switch failure {
        case .vanished:
            return .remove
        case .permission(let reason):
            host.warning("open input file \(entry.path): \(reason)")
            host.warning("if this file was created by Postfix < 1.1, then you may have to chmod a+r "
                         + "\(settings.queueDirectory)/\(entry.path)")
            return .keep
        case .refused(let reason):
            host.warning("open input file \(entry.path): \(reason)")
            return .remove
        }
    }
}
