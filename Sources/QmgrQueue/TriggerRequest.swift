// TriggerRequest: the bytes of one wakeup read on public/qmgr, folded into
// the requests for the incoming and the deferred scan, as stock's qmgr
// folds them: every byte of the read counts, order and repetition do not;
// I and W start the incoming scan, D the deferred scan; A makes both
// ignore time stamps; F asks both to forget dead destinations once and to
// ignore defer_transports. Any other byte (the client's trailing NUL
// included) is ignored; stock logs nothing for it unless verbose, and
// `ignored` lists them for a caller that wants to.

public struct TriggerRequest: Equatable, Sendable {
    public var incoming: ScanFlags = []
    public var deferred: ScanFlags = []
    /// Bytes that mean nothing, in the order read.
    public var ignored: [UInt8] = []

    public init(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "I"), UInt8(ascii: "W"): incoming.insert(.start)
            case UInt8(ascii: "D"): deferred.insert(.start)
            case UInt8(ascii: "A"):
                incoming.insert(.scanAll)
                deferred.insert(.scanAll)
            case UInt8(ascii: "F"):
                incoming.formUnion([.flushOnce, .flushDeferredTransports])
                deferred.formUnion([.flushOnce, .flushDeferredTransports])
            default: ignored.append(byte)
            }
        }
    }
}
