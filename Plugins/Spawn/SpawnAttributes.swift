// SpawnAttributes.swift - the master.cf command attributes of a spawn
// service, "user=name[:group] ... argv=command args...", read as spawn(8)
// documents them: names are matched case-insensitively, argv= must come last
// and takes every remaining argument, anything else is fatal. The checks
// refuse root, the mail system owner and their groups, and the id -1.
import Glibc

struct SpawnAttributes {
    let argv: [String]
    let uid: uid_t
    let gid: gid_t

    /// A fatal configuration problem, with spawn(8)'s wording.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `arguments` (master.cf arguments after the command).
    /// `owner` is mail_owner's uid and gid.
    static func parse(_ arguments: [String], owner: (uid: uid_t, gid: gid_t)) throws -> SpawnAttributes {
        var identity: (uid: uid_t, gid: gid_t)? = nil
        var command: [String]? = nil
        for (index, argument) in arguments.enumerated() {
            if let user = value(of: "user=", in: argument) {
                identity = try lookUp(user)
            } else if let first = value(of: "argv=", in: argument) {
                command = [first] + arguments[(index + 1)...]
                break
            } else {
                throw Problem(description: "unknown attribute name: \(argument)")
            }
        }
        guard let identity else { throw Problem(description: "missing user= attribute") }
        guard let command else { throw Problem(description: "missing argv= attribute") }
        try check(identity, owner: owner)
        return SpawnAttributes(argv: command, uid: identity.uid, gid: identity.gid)
    }

    /// The text after a case-insensitive `prefix`, nil when it does not match.
    static func value(of prefix: String, in argument: String) -> String? {
        guard argument.utf8.count >= prefix.utf8.count,
              String(argument.prefix(prefix.count)).lowercased() == prefix else { return nil }
        return String(argument.dropFirst(prefix.count))
    }

    /// "name" or "name:group"; an empty group means the user's own group.
    static func lookUp(_ spec: String) throws -> (uid: uid_t, gid: gid_t) {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let user = String(parts[0])
        guard let pw = getpwnam(user) else { throw Problem(description: "unknown user name: \(user)") }
        let uid = pw.pointee.pw_uid
        var gid = pw.pointee.pw_gid
        if parts.count == 2, !parts[1].isEmpty {
            let group = String(parts[1])
            guard let gr = getgrnam(group) else { throw Problem(description: "unknown group name: \(group)") }
            gid = gr.pointee.gr_gid
        }
        return (uid, gid)
    }

    static func check(_ id: (uid: uid_t, gid: gid_t), owner: (uid: uid_t, gid: gid_t)) throws {
        if id.uid == 0 { throw Problem(description: "request to deliver as root") }
        if id.uid == owner.uid { throw Problem(description: "request to deliver as mail system owner") }
        if id.gid == 0 { throw Problem(description: "request to use privileged group id \(id.gid)") }
        if id.gid == owner.gid { throw Problem(description: "request to use mail system owner group id \(id.gid)") }
        if id.uid == uid_t.max { throw Problem(description: "user must not have user ID -1") }
        if id.gid == gid_t.max { throw Problem(description: "user must not have group ID -1") }
    }
}
