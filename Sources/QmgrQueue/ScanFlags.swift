// ScanFlags: what a queue scan (and each message it feeds) is asked to do,
// with stock qmgr's meanings (qmgr.h):
// - start: start a scan now, or restart it as soon as the running pass ends;
// - scanAll: ignore the files' time stamps (take deferred mail before its time);
// - flushOnce: forget every dead transport and destination once;
// - flushDeferredTransports: ignore defer_transports for the mail fed;
// - flushEach: unthrottle, per message, the transports and destinations it
//   resolves to (from a file's group-read bit, set by flush(8));
// - forceExpire: defer and expire the message (a file's group-execute bit,
//   set by postsuper -e/-f).
// The raw values are stock's bits, so logs of either compare directly.

public struct ScanFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let start = ScanFlags(rawValue: 1 << 0)
    public static let scanAll = ScanFlags(rawValue: 1 << 1)
    public static let flushOnce = ScanFlags(rawValue: 1 << 2)
    public static let flushDeferredTransports = ScanFlags(rawValue: 1 << 3)
    public static let flushEach = ScanFlags(rawValue: 1 << 4)
    public static let forceExpire = ScanFlags(rawValue: 1 << 5)

    public var description: String {
        let names: [(ScanFlags, String)] = [(.start, "start"), (.scanAll, "scan_all"), (.flushOnce, "flush_once"),
                                            (.flushDeferredTransports, "flush_dfxp"), (.flushEach, "flush_each"),
                                            (.forceExpire, "force_expire")]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: "|")
    }
}
