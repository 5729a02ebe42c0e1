// StockQueueInstance.swift - the real Postfix the queue tests (MailQueue,
// QmgrDelivery) compare with: stock binaries checked against the Debian
// package's md5sums before any use (a mismatch fails loudly), and a private
// stock instance (stock master, stock daemons) whose queue manager is, by
// default, removed from master.cf, so that every queue file cleanup commits
// stays in `incoming` exactly as cleanup wrote it.
import Foundation
import Glibc

extension StockBinaries {
    /// The stock programs the queue tests run directly; every daemon of the
    /// daemon directory (an instance links them all) is checked as well.
    public static let queueTools = ["/usr/sbin/postcat", "/usr/sbin/postconf", "/usr/sbin/postfix", "/usr/sbin/postsuper",
                                    "/usr/sbin/sendmail", "/usr/sbin/postdrop", "/usr/sbin/postmap"]
    nonisolated(unsafe) private static var queueToolsVerified = false

    /// Throws unless every queue tool and stock daemon has the md5sum the package installed.
    public static func verifyQueueTools() throws {
        if queueToolsVerified { return }
        let expected = try packageSums()
        let daemons = expected.keys.filter { $0.hasPrefix(TestEnv.stockDaemonDir + "/") }.sorted()
        guard daemons.contains(TestEnv.stockMaster), daemons.contains(TestEnv.stockDaemonDir + "/trivial-rewrite") else {
            throw HarnessError("\(md5sumsPath) lists no stock daemons")
        }
        // One md5sum run for all of them.
        let r = try runCommand("/usr/bin/md5sum", queueTools + daemons, timeout: 60)
        guard r.status == 0 else { throw HarnessError("md5sum failed: \(r.output)") }
        for line in r.output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            let path = parts[1].trimmingCharacters(in: .whitespaces)
            guard let want = expected[path] else { throw HarnessError("\(path) is not listed in \(md5sumsPath)") }
            guard want == parts[0] else {
                throw HarnessError("\(path) does not match the postfix package (md5 \(parts[0]), package says \(want)): not stock")
            }
        }
        queueToolsVerified = true
    }

    /// An instance's daemon directory must hold the stock master and links to stock daemons.
    public static func verify(instance: PrivateInstance) throws {
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: instance.libexec) where name != "master" {
            let target = try fm.destinationOfSymbolicLink(atPath: instance.libexec + "/" + name)
            guard target.hasPrefix(TestEnv.stockDaemonDir + "/") else {
                throw HarnessError("\(instance.libexec)/\(name) -> \(target): not a stock daemon")
            }
        }
        let r = try runCommand("/usr/bin/cmp", [instance.libexec + "/master", TestEnv.stockMaster])
        guard r.status == 0 else { throw HarnessError("\(instance.libexec)/master is not the stock master: \(r.output)") }
    }
}

/// A stock Postfix instance, by default without a queue manager: submitted
/// mail stays in incoming/ as cleanup committed it.
public final class StockQueueInstance {
    public let instance: PrivateInstance

    public init(parameters: [String: String], keepQueueManager: Bool = false) throws {
        try TestEnv.requirements()
        try StockBinaries.verifyQueueTools()
        instance = try PrivateInstance(master: TestEnv.stockMaster)
        do {
            try StockBinaries.verify(instance: instance)
            if !keepQueueManager { try instance.removeMasterCfLines(startingWith: "qmgr ") }
            if !parameters.isEmpty { try postconf(parameters) }
            try instance.start()
        } catch {
            instance.destroy()
            throw error
        }
    }

    public var queue: String { instance.queue }
    public var etc: String { instance.etc }

    public func destroy() { instance.destroy() }

    public func postconf(_ parameters: [String: String]) throws {
        let r = try runCommand("/usr/sbin/postconf", ["-c", etc, "-e"] + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        guard r.status == 0 else { throw HarnessError("postconf -e failed: \(r.output)") }
    }

    /// postconf -e, then `postfix reload`, then waits until the daemons that
    /// were running (and read the old main.cf) are gone.
    public func reconfigure(_ parameters: [String: String]) throws {
        try postconf(parameters)
        let old = Set(instance.children().filter { !Proc.cmdline($0).joined(separator: " ").contains("qmgr") })
        let r = try instance.postfix("reload")
        guard r.status == 0 else { throw HarnessError("postfix reload failed: \(r.output)") }
        guard waitUntil(timeout: 30, { old.allSatisfy { !Proc.isAlive($0) } }) else {
            throw HarnessError("daemons of the old configuration still running after reload: \(old.filter(Proc.isAlive))")
        }
    }

    /// `postconf -xh name`: the value the instance's configuration gives `name`.
    public func parameter(_ name: String) throws -> String {
        let r = try runCommand("/usr/sbin/postconf", ["-c", etc, "-xh", name])
        guard r.status == 0 else { throw HarnessError("postconf -xh \(name): \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes `entries` to etc/transport, postmaps it and makes it the transport_maps (with a reload).
    public func installTransportMap(_ entries: String) throws {
        let table = etc + "/transport"
        try entries.write(toFile: table, atomically: true, encoding: .utf8)
        let r = try runCommand("/usr/sbin/postmap", ["-c", etc, "hash:" + table])
        guard r.status == 0 else { throw HarnessError("postmap failed: \(r.output)") }
        try reconfigure(["transport_maps": "hash:" + table])
    }

    /// A stock instance for routing tests: relay.example (relay_domains),
    /// alias.example (virtual_alias_domains), and transport_maps sending
    /// mapped.example to smtp:[127.0.0.1]:2525 and errored.example to
    /// error:5.1.2 no such domain here; `extra` main.cf settings on top.
    public static func withRoutes(_ extra: [String: String] = [:]) throws -> StockQueueInstance {
        let stock = try StockQueueInstance(parameters: ["relay_domains": "relay.example",
                                                        "virtual_alias_domains": "alias.example"]
                                           .merging(extra) { $1 })
        do {
            try stock.installTransportMap("mapped.example smtp:[127.0.0.1]:2525\n"
                                          + "errored.example error:5.1.2 no such domain here\n")
        } catch {
            stock.destroy()
            throw error
        }
        return stock
    }

    /// Committed (mode 0700) regular files under incoming/, relative to the queue directory.
    public func committedFiles() -> Set<String> {
        var out = Set<String>()
        let base = queue + "/incoming"
        guard let e = FileManager.default.enumerator(atPath: base) else { return out }
        for case let f as String in e {
            var st = stat()
            if lstat(base + "/" + f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o700 == 0o700 {
                out.insert("incoming/" + f)
            }
        }
        return out
    }

    /// Runs `submit`, then waits for the one new committed queue file it made; returns its path relative to the queue directory.
    public func newQueueFile(_ what: String, _ submit: () throws -> Void) throws -> String {
        let before = committedFiles()
        try submit()
        var found: Set<String> = []
        waitUntil(timeout: 60, interval: 0.1) {
            found = committedFiles().subtracting(before)
            return !found.isEmpty
        }
        guard found.count == 1, let path = found.first else {
            throw HarnessError("\(what): expected one new queue file in \(queue)/incoming, found \(found.sorted())\n\(instance.logTail(20))")
        }
        return path
    }

    /// Submits with stock sendmail(1) without waiting for a queue file.
    public func submit(_ args: [String], message: String) throws {
        let r = try runCommand("/usr/sbin/sendmail", ["-C", etc] + args, env: ["MAIL_CONFIG": etc], stdin: message)
        guard r.status == 0 else { throw HarnessError("sendmail \(args) failed (\(r.status)): \(r.output)") }
    }

    /// Submits with stock sendmail(1); returns the new queue file's path.
    public func sendmail(_ args: [String], message: String) throws -> String {
        try newQueueFile("sendmail \(args)") { try submit(args, message: message) }
    }

    /// Submits over SMTP to the instance's stock smtpd; `commands` are sent
    /// one by one (each answered by a 2xx/3xx reply), then DATA with `message`.
    public func smtp(_ commands: [String], message: String) throws -> String {
        try newQueueFile("SMTP \(commands)") {
            let session = try SMTPSession(port: instance.smtpPort)
            defer { session.close() }
            try session.expect("220", after: nil)
            try session.expect("250", after: "EHLO client.test.example")
            for c in commands { try session.expect(c.hasPrefix("RCPT") || c.hasPrefix("MAIL") ? "250" : "2", after: c) }
            try session.expect("354", after: "DATA")
            let body = message.replacingOccurrences(of: "\n", with: "\r\n")
            try session.expect("250", after: body + ".")
            try session.expect("221", after: "QUIT")
        }
    }

    /// stock postcat(1) on a queue file (path relative to the queue directory, or absolute).
    public func postcat(_ path: String, _ options: [String]) throws -> String {
        let full = path.hasPrefix("/") ? path : queue + "/" + path
        let r = try runCommand("/usr/sbin/postcat", ["-c", etc] + options + [full], env: ["MAIL_CONFIG": etc])
        guard r.status == 0 else { throw HarnessError("postcat \(options) \(full) failed (\(r.status)): \(r.output)") }
        return r.output
    }

    public func bytes(of path: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: queue + "/" + path) else {
            throw HarnessError("cannot read \(queue)/\(path)")
        }
        return [UInt8](d)
    }
}

/// A minimal SMTP client for submitting test mail over loopback.
public final class SMTPSession {
    public let fd: Int32

    public init(port: Int) throws {
        guard case .connected(let fd) = Net.connect(port: port, timeout: 10) else {
            throw HarnessError("cannot connect to 127.0.0.1:\(port)")
        }
        self.fd = fd
    }

    public func close() { Glibc.close(fd) }

    /// Sends `line` (when given) with CRLF, then reads one complete reply and checks its code prefix.
    public func expect(_ code: String, after line: String?) throws {
        if let line {
            let bytes = Array((line + "\r\n").utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
                guard n > 0 else { throw HarnessError("SMTP write failed: \(errno)") }
                sent += n
            }
        }
        var reply = ""
        while true {
            guard let chunk = Net.readLine(fd: fd, timeout: 30), !chunk.isEmpty else {
                throw HarnessError("SMTP: no reply to \(line ?? "(banner)"); got \(reply)")
            }
            // "\r\n" is one Character in Swift: compare lines without it.
            reply += chunk.replacingOccurrences(of: "\r\n", with: "\n")
            // Done when the last complete line is "ddd " (not "ddd-").
            let lines = reply.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if reply.hasSuffix("\n"), let last = lines.last, last.count >= 4, last[last.index(last.startIndex, offsetBy: 3)] == " " {
                guard last.hasPrefix(code) else { throw HarnessError("SMTP: \(line ?? "(banner)") -> \(reply)") }
                return
            }
        }
    }
}

/// One stock instance shared by the tests of a class: made on first use
/// (a failure is reported by every test that asks), destroyed in the
/// class's tearDown.
public final class SharedStockInstance: @unchecked Sendable {
    private var made: Result<StockQueueInstance, Error>?
    private let make: () throws -> StockQueueInstance

    public init(_ make: @escaping () throws -> StockQueueInstance) { self.make = make }

    public func get() throws -> StockQueueInstance {
        if made == nil { made = Result { try make() } }
        return try made!.get()
    }

    public func destroy() {
        if case .success(let s)? = made { s.destroy() }
        made = nil
    }
}
