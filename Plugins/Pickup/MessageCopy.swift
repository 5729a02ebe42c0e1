// MessageCopy.swift - copies one maildrop file into a cleanup submission the
// way stock pickup does: the content_filter record first, the envelope with
// only the record types postdrop (or postsuper -r) may write, the sender's
// arrival time when the file has none, pickup's own Received: header, the
// content, and the extracted segment, dropping the records stock drops
// after postsuper -r (filter, redirect, return-receipt, errors-to, and
// attributes other than the DSN and create-time ones).
// Guarantees: a record outside the allowed set, longer than
// line_length_limit, or malformed ends the copy with stock's warnings and
// the decision "remove"; a failure talking to cleanup ends it with
// "keep"; cleanup's own verdict decides otherwise, as stock decides.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue
import PluginAPI

/// What to do with the maildrop file afterwards.
enum FileFate {
    case remove
    case keep
}

/// A set of ASCII bytes as a bit mask (tested for every record copied).
struct ASCIISet {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    init(_ members: String) {
        for b in members.utf8 where b < 128 {
            if b < 64 { low |= 1 << UInt64(b) } else { high |= 1 << UInt64(b - 64) }
        }
    }

    func contains(_ b: UInt8) -> Bool {
        b < 64 ? (low >> UInt64(b)) & 1 == 1 : b < 128 ? (high >> UInt64(b - 64)) & 1 == 1 : false
    }
}

/// The record types each segment may hold; the last one ends it.
struct Segment {
    let allowed: ASCIISet
    let terminator: RecordType
    let isContent: Bool
    let isExtracted: Bool

    init(_ types: String, content: Bool = false, extracted: Bool = false) {
        allowed = ASCIISet(types)
        terminator = RecordType(rawValue: types.utf8.first ?? 0)
        isContent = content
        isExtracted = extracted
    }

    static let envelope = Segment("MCTcFILSDRO/WVA>K<ion")
    static let content = Segment("XLNw", content: true)
    static let extracted = Segment("EDRO/PreAFIL>Kon", extracted: true)

    /// Whether stock lets the type through: a NUL type byte passes its
    /// strchr() test too (cleanup then refuses the message).
    func admits(_ type: RecordType) -> Bool { type.rawValue == 0 || allowed.contains(type.rawValue) }
}

/// The attribute names stock keeps in the extracted segment (rec_attr_map).
let keptAttributes: Set<[UInt8]> = Set(["dsn_orig_rcpt", "notify_flags", "envelope_id", "ret_flags", "create_time"]
    .map { Array($0.utf8) })

struct MessageCopy {
    let entry: MaildropEntry
    let settings: PickupSettings
    let requeued: Bool
    let log: (LogLevel, String) -> Void
    var reader: RecordReader
    var sender: [UInt8]?
    /// The file's mtime, corrected when it lies too far in the future.
    var mtime: Int

    /// Ends the copy early with the fate of the file.
    struct Stop: Error {
        let fate: FileFate
        static func decided(_ fate: FileFate) -> Stop { Stop(fate: fate) }
    }

    init(entry: MaildropEntry, file: Maildrop.OpenFile, settings: PickupSettings, requeued: Bool,
         log: @escaping (LogLevel, String) -> Void) throws(QueueFileError) {
        self.entry = entry
        self.settings = settings
        self.requeued = requeued
        self.log = log
        reader = RecordReader(try Maildrop.contents(file, name: entry.path), maximumLength: settings.lineLengthLimit)
        mtime = Int(entry.status.st_mtim.tv_sec)
    }

    private func warn(_ text: String) { log(.warning, text) }

    /// Copies the whole file; the decision for the maildrop file.
    mutating func run(into cleanup: CleanupSubmission) -> FileFate {
        do {
            try copy(into: cleanup)
        } catch {
            return error.fate
        }
        return finish(cleanup)
    }

    private mutating func copy(into cleanup: CleanupSubmission) throws(Stop) {
        let id = cleanup.queueID
        let now = Int(time(nil))
        if mtime > now + 2 * 3600 {
            warn("\(id): message dated \(mtime - now) seconds into the future")
            mtime = now
        } else if mtime < now - 86400 {
            warn("\(id): message has been queued for \((now - mtime) / 86400) days")
        }
        if !settings.contentFilter.isEmpty { try send(cleanup, .filter, Array(settings.contentFilter.utf8)) }
        try copySegment(.envelope, into: cleanup)
        guard let from = sender else {
            warn("\(id): uid=\(entry.status.st_uid): no envelope sender")
            throw .decided(.remove)
        }
        logArrival(id: id, sender: from)
        try send(cleanup, .message, [])
        try send(cleanup, .normal, receivedFirstLine())
        try send(cleanup, .normal, receivedSecondLine(id: id))
        try copySegment(.content, into: cleanup)
        try send(cleanup, .extracted, [])
        try copySegment(.extracted, into: cleanup)
    }

    /// "Received: by <myhostname> (<mail_name>, from userid <uid>)", built
    /// as bytes (no string interpolation per message).
    private func receivedFirstLine() -> [UInt8] {
        var line = settings.receivedPrefix
        line.append(contentsOf: String(entry.status.st_uid).utf8)
        line.append(UInt8(ascii: ")"))
        return line
    }

    /// "\tid <queue ID>; <date>".
    private func receivedSecondLine(id: String) -> [UInt8] {
        let date = MailDate.format(mtime)
        var line: [UInt8] = []
        line.reserveCapacity(6 + id.utf8.count + date.utf8.count)
        line.append(contentsOf: "\tid ".utf8)
        line.append(contentsOf: id.utf8)
        line.append(contentsOf: "; ".utf8)
        line.append(contentsOf: date.utf8)
        return line
    }

    private func logArrival(id: String, sender: [UInt8]) {
        let address = ByteString(sender)
        let shown = settings.externalAddressForm && !address.isEmpty ? AddressQuoting.external(address) : address
        var line = "\(id): uid=\(entry.status.st_uid) from=<\(shown)>"
        if requeued { line += " orig_id=\(entry.name)" }
        log(.info, line)
    }

    /// END, then cleanup's verdict.
    private func finish(_ cleanup: CleanupSubmission) -> FileFate {
        let verdict: (status: CleanupStatus, reason: ByteString)
        do {
            verdict = try cleanup.finish()
        } catch {
            return serviceError(cleanup, CleanupStatus(rawValue: CleanupStatus.write), reason: .empty)
        }
        if verdict.status.isSuccess { return .remove }
        return serviceError(cleanup, verdict.status, reason: verdict.reason)
    }

    /// Stock logs cleanup's failure only when cleanup gave no reason (it
    /// logged that itself); the file goes unless the failure may pass.
    private func serviceError(_ cleanup: CleanupSubmission, _ status: CleanupStatus, reason: ByteString) -> FileFate {
        if reason.isEmpty { warn("\(entry.path): error writing \(cleanup.queueID): \(status)") }
        return status.contains(CleanupStatus.bad) || status.contains(CleanupStatus.recipient) ? .remove : .keep
    }

    private func send(_ cleanup: CleanupSubmission, _ type: RecordType, _ payload: [UInt8]) throws(Stop) {
        do {
            try cleanup.put(type, payload)
        } catch {
            throw .decided(serviceError(cleanup, CleanupStatus(rawValue: CleanupStatus.write), reason: .empty))
        }
    }

    private mutating func copySegment(_ segment: Segment, into cleanup: CleanupSubmission) throws(Stop) {
        var timeSeen = false
        var checkFirstLine = segment.isContent
        while true {
            let record = try nextRecord()
            guard let record, segment.admits(record.type) else {
                throw .decided(readError(type: record.map { Int($0.type.rawValue) } ?? -1))
            }
            if record.type == segment.terminator { return }
            if record.type == .from {
                if sender == nil { sender = record.payload }
                if !timeSeen { try send(cleanup, .time, Array(String(mtime).utf8)) }
            }
            if record.type == .time { timeSeen = true }
            if !segment.isContent && (record.type == .filter || record.type == .redirect) { continue }
            if segment.isExtracted && droppedAfterRequeue(record) { continue }
            if checkFirstLine && (record.type == .normal || record.type == .continued) {
                checkFirstLine = false
                if let c = record.payload.first, c == 0x20 || c == 0x09 { try send(cleanup, .normal, []) }
            }
            try send(cleanup, record.type, record.payload)
        }
    }

    /// Return-receipt, errors-to, and attributes cleanup would not map.
    private func droppedAfterRequeue(_ record: Record) -> Bool {
        if record.type == .returnReceipt || record.type == .errorsTo { return true }
        guard record.type == .attribute, let name = attributeName(record.payload) else { return false }
        return !keptAttributes.contains(name)
    }

    /// The name of a `name = value` payload (split_nameval); nil when malformed.
    private func attributeName(_ payload: [UInt8]) -> [UInt8]? {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        var i = payload.startIndex
        while i < payload.endIndex, isSpace(payload[i]) { i += 1 }
        guard i < payload.endIndex, payload[i] != UInt8(ascii: "=") else { return nil }
        let start = i
        while i < payload.endIndex, !isSpace(payload[i]), payload[i] != UInt8(ascii: "=") { i += 1 }
        let name = Array(payload[start..<i])
        while i < payload.endIndex, isSpace(payload[i]) { i += 1 }
        guard i < payload.endIndex, payload[i] == UInt8(ascii: "=") else { return nil }
        return name
    }

    /// The next record as rec_get() gives it (pointers followed, padding
    /// skipped); nil at the end of the file. A malformed record is logged as
    /// rec_get() logs it and ends the copy.
    private mutating func nextRecord() throws(Stop) -> Record? {
        do {
            return try reader.next(skipPadding: true)
        } catch {
            if case .pointerBeyondEnd = error.problem { throw .decided(readError(type: -1)) }
            warn(MessageCopy.recordWarning(error))
            throw .decided(readError(type: -2))
        }
    }

    private func readError(type: Int) -> FileFate {
        warn("uid=\(entry.status.st_uid): unexpected or malformed record type \(type)")
        return .remove
    }

    /// rec_get()'s warning for a malformed record (types as numbers).
    static func recordWarning(_ error: QueueFileError) -> String {
        let file = error.file
        switch error.problem {
        case .truncatedLength(let t): return "\(file): unexpected EOF reading length, record type \(t.rawValue)"
        case .tooManyLengthBytes(let t): return "\(file): too many length bits, record type \(t.rawValue)"
        case .illegalLength(let t, let n, _): return "\(file): illegal length \(n), record type \(t.rawValue)"
        case .truncatedData(let t, let n): return "\(file): unexpected EOF in data, record type \(t.rawValue) length \(n)"
        case .malformedPointer(let p): return "\(file): malformed pointer record value: \(p)"
        case .tooManyReverseJumps, .pointerLoop: return "\(file): too many reverse jump records"
        default: return error.description
        }
    }
}
