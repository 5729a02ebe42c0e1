// Credentials.swift - mail_owner lookup and temporary effective ids.
//
// The master runs as root but creates UNIX sockets, FIFOs and master.lock
// as mail_owner, exactly like the stock master, so that the unprivileged
// daemons own what they serve. `asUser` always restores root's ids.

import Glibc

package struct MailOwner: Equatable {
    package let name: String
    package let uid: uid_t
    package let gid: gid_t

    static func lookup(_ name: String) -> MailOwner? {
        guard let entry = getpwnam(name) else { return nil }
        return MailOwner(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Runs `body` with effective uid/gid switched to this owner.
    package func asUser<R>(_ body: () -> R) -> R {
        let savedGid = getegid()
        let savedUid = geteuid()
        if savedUid != 0 { return body() }
        _ = setegid(gid)
        _ = seteuid(uid)
        defer {
            _ = seteuid(savedUid)
            _ = setegid(savedGid)
        }
        return body()
    }
}
