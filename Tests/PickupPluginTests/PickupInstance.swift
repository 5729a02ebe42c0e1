// PickupInstance.swift - what the pickup plugin's end-to-end tests add to
// the harness: a private instance (our master, Debian's master.cf, stock
// daemons) whose `pickup` line resolves either to our pickup.so or, with
// the file absent, to stock's verified /usr/lib/postfix/sbin/pickup; proof
// of which one runs; maildrop files written as postdrop writes them; and
// the normalisation that lets a stock run and ours be compared (queue IDs
// and dates out, everything else byte for byte).
import Foundation
import XCTest
import TestSupport
import MailQueue
#if canImport(Glibc)
import Glibc
#endif

enum PickupVariant: String, CaseIterable {
    case stock, plugin
}

enum PickupEnv {
    /// libpickup.so built beside the master under test.
    static var builtPlugin: String { TestEnv.builtPlugin("pickup") }

    static let stockPickup = TestEnv.stockDaemonDir + "/pickup"
}

/// A maildrop file's records, encoded as postdrop writes them (MailQueue's writer).
struct MaildropFile {
    var records: [(Character, [UInt8])] = []

    mutating func add(_ type: Character, _ text: String) { records.append((type, Array(text.utf8))) }
    mutating func add(_ type: Character, bytes: [UInt8]) { records.append((type, bytes)) }

    /// A complete message in postdrop's layout.
    static func message(sender: String = "root@localhost", recipient: String = "nobody", subject: String,
                        body: [String] = ["body line"]) -> MaildropFile {
        var f = MaildropFile()
        f.add("T", "\(Int(Date().timeIntervalSince1970)) 0")
        f.add("A", "rewrite_context=local")
        f.add("F", "")
        f.add("S", sender)
        f.add("R", recipient)
        f.add("M", "")
        f.add("N", "Subject: \(subject)")
        f.add("N", "")
        body.forEach { f.add("N", $0) }
        f.add("X", "")
        f.add("E", "")
        return f
    }

    var bytes: [UInt8] {
        var writer = RecordWriter()
        for (type, payload) in records { _ = writer.put(RecordType(rawValue: type.asciiValue ?? 0), payload) }
        return writer.bytes
    }
}

class PickupTestCase: InstanceTestCase {
    /// An instance with the pickup line resolving to `variant`, stock qmgr
    /// and local delivery to DIR/mail/nobody/ (maildir); pickup wakes every
    /// second. `start: false` leaves it stopped (files can be dropped first).
    func pickupInstance(_ variant: PickupVariant, chroot: Bool = false, parameters: [String] = [],
                        start: Bool = true) throws -> PrivateInstance {
        let inst = try makeInstance()
        if variant == .plugin { try installPickupPlugin(inst) } else { _ = try stockPickup() }
        try postconf(inst, ["-F", "pickup/unix/wakeup=1", "pickup/unix/chroot=\(chroot ? "y" : "n")"])
        if !parameters.isEmpty { try postconf(inst, ["-e"] + parameters) }
        if start { try startAndCheck(inst, variant) }
        return inst
    }

    func startAndCheck(_ inst: PrivateInstance, _ variant: PickupVariant) throws {
        let mark = inst.logMark()
        try inst.start()
        if variant == .plugin {
            XCTAssertNotNil(inst.waitForLog("command pickup resolves to plugin \(inst.libexec)/pickup.so", since: mark,
                                            timeout: 15), "the pickup line did not resolve to the plugin")
        }
        let worker = try XCTUnwrap(pickupWorker(inst), "no pickup process runs")
        try assertPickup(inst, worker, is: variant)
    }

    func installPickupPlugin(_ inst: PrivateInstance) throws {
        try inst.installPlugin(PickupEnv.builtPlugin, as: "pickup")
    }

    /// Stock pickup, checked against the package's checksums.
    func stockPickup() throws -> String {
        try StockBinaries.verifiedInPlace(PickupEnv.stockPickup, runs: StockBinaries.libraries)
    }

    @discardableResult
    func postconf(_ inst: PrivateInstance, _ args: [String]) throws -> String {
        let r = try runCommand("/usr/sbin/postconf", ["-c", inst.etc] + args, timeout: 30)
        guard r.status == 0 else { throw HarnessError("postconf \(args): \(r.output)") }
        return r.output
    }

    /// The running pickup process (plugin worker or stock), within `timeout`.
    func pickupWorker(_ inst: PrivateInstance, timeout: TimeInterval = 15) -> pid_t? {
        var found: pid_t?
        waitUntil(timeout: timeout, interval: 0.05) {
            found = inst.children().first { pid in
                let maps = (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
                return maps.contains(inst.libexec + "/pickup.so") || self.executable(pid) == PickupEnv.stockPickup
            }
            return found != nil
        }
        return found
    }

    func executable(_ pid: pid_t) -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"))
            .map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
    }

    /// The pickup process is what `variant` says: a fork of our master with
    /// pickup.so mapped, or stock's executable.
    func assertPickup(_ inst: PrivateInstance, _ pid: pid_t, is variant: PickupVariant,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let exe = try XCTUnwrap(executable(pid), file: file, line: line)
        switch variant {
        case .plugin:
            XCTAssertEqual(exe, URL(fileURLWithPath: inst.libexec + "/master").resolvingSymlinksInPath().path,
                           "the pickup worker must be our master's fork", file: file, line: line)
        case .stock:
            XCTAssertEqual(exe, PickupEnv.stockPickup, "stock pickup must run", file: file, line: line)
        }
    }

    /// Writes `file` into maildrop as postdrop does (written, then made
    /// complete: 0744), owned by `uid`, under `name` or else a short queue
    /// ID that encodes its inode, as postsuper's start-up check requires;
    /// returns the name.
    @discardableResult
    func drop(_ file: MaildropFile, into inst: PrivateInstance, name: String? = nil, uid: uid_t = 0,
              mode: mode_t = 0o744, mtime: time_t? = nil) throws -> String {
        try dropBytes(file.bytes, into: inst, name: name, uid: uid, mode: mode, mtime: mtime)
    }

    @discardableResult
    func dropBytes(_ bytes: [UInt8], into inst: PrivateInstance, name fixedName: String? = nil, uid: uid_t = 0,
                   mode: mode_t = 0o744, mtime: time_t? = nil) throws -> String {
        let temporary = inst.queue + "/maildrop/.drop-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw HarnessError("create \(temporary): errno \(errno)") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw HarnessError("short write to \(temporary)") }
        fchown(fd, uid, postdropGID())
        fchmod(fd, mode)
        if let t = mtime {
            var times = [timespec(tv_sec: t, tv_nsec: 0), timespec(tv_sec: t, tv_nsec: 0)]
            futimens(fd, &times)
        }
        var st = stat()
        fstat(fd, &st)
        var tv = timeval()
        gettimeofday(&tv, nil)
        let name = fixedName ?? QueueID.short(microseconds: Int(tv.tv_usec), inode: UInt64(st.st_ino)).text
        guard rename(temporary, inst.queue + "/maildrop/" + name) == 0 else { throw HarnessError("rename: errno \(errno)") }
        return name
    }

    func postdropGID() -> gid_t { getgrnam("postdrop")?.pointee.gr_gid ?? 0 }

    /// Asks pickup to scan now, as postdrop does.
    func wakePickup(_ inst: PrivateInstance) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = Array((inst.queue + "/public/pickup").utf8CString)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, c) in path.prefix(raw.count - 1).enumerated() { raw[i] = UInt8(bitPattern: c) }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if ok == 0 { _ = write(fd, "W", 1) }
    }

    /// Messages delivered to nobody's maildir, by file name.
    func delivered(_ inst: PrivateInstance) -> [String: String] {
        var out: [String: String] = [:]
        let base = inst.dir + "/mail/nobody"
        for sub in ["new", "cur"] {
            for f in (try? FileManager.default.contentsOfDirectory(atPath: base + "/" + sub)) ?? [] {
                out[f] = (try? String(contentsOfFile: base + "/" + sub + "/" + f, encoding: .isoLatin1)) ?? ""
            }
        }
        return out
    }

    func deliveredCount(_ inst: PrivateInstance) -> Int {
        let base = inst.dir + "/mail/nobody"
        return ["new", "cur"].reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: base + "/" + $1))?.count ?? 0) }
    }

    /// Copies per Subject token ("Subject: <prefix>N") among delivered messages.
    func copiesPerToken(_ inst: PrivateInstance, prefix: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for text in delivered(inst).values {
            guard let r = text.range(of: "Subject: " + prefix) else { continue }
            let token = text[r.upperBound...].prefix { $0.isNumber }
            counts[prefix + token, default: 0] += 1
        }
        return counts
    }

    func maildropNames(_ inst: PrivateInstance) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: inst.queue + "/maildrop")) ?? []).sorted()
    }

    /// Log lines of pickup and cleanup, without the syslog prefix, with
    /// every queue ID in `ids` (and cleanup's IDs found in the lines) as QID.
    func serviceLines(_ inst: PrivateInstance, since mark: Int = 0) -> [String] {
        let lines = inst.log(since: mark).split(separator: "\n").map(String.init)
            .filter { $0.contains("postfix/pickup[") || $0.contains("postfix/cleanup[") }
        return lines.map { line in
            let body = line.range(of: "]: ").map { String(line[$0.upperBound...]) } ?? line
            let program = line.contains("postfix/pickup[") ? "pickup: " : "cleanup: "
            return program + PickupTestCase.normalized(body)
        }
    }

    /// Queue IDs and dates replaced, so stock's and our runs compare.
    static func normalized(_ text: String, instance: PrivateInstance? = nil) -> String {
        var s = text
        if let inst = instance { s = s.replacingOccurrences(of: inst.dir, with: "<DIR>") }
        let patterns = [
            // Message-Id: <YYYYMMDDhhmmss.QUEUEID@host> (the time of cleanup).
            #"<\d{14}\."#,
            // RFC 2822 dates (Received:, Date:), ctime dates (postcat), epoch times.
            #"[A-Z][a-z]{2}, +\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}( \([A-Za-z0-9+-]+\))?"#,
            #"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"#,
            #"(create_time|message_arrival_time|log_ident|queue_id)(: |=)\S+"#,
            // The content offset in the size record shifts with the length of
            // the queue ID in the envelope (log_ident): mask that one field.
            #"(?<=message_size: {0,20}\d{1,15}) +\d+"#,
            // Hashed queue subdirectories, short queue IDs (cleanup's) and maildir names.
            #"(deferred|defer|hold|incoming|active)/[0-9A-F]/"#,
            #"\b[0-9A-F]{10,12}\b"#,
            #"\b\d{10}\.V[0-9a-f]+I[0-9a-f]+M\d+\.\S+"#,
        ]
        for p in patterns {
            s = s.replacingOccurrences(of: p, with: "<X>", options: .regularExpression)
        }
        return s
    }
}
