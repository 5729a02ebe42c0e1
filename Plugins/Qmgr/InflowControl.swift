// InflowControl.swift - stock qmgr's global flow control: tokens on the
// master's flow pipe (descriptors 3 and 4 of every Postfix daemon, here of
// the plugin worker too), which cleanup(8) takes one of per message and
// otherwise waits in_flow_delay for. After each loop iteration, with fewer
// tokens in the pipe than default_process_limit: one token for a message
// just taken from incoming, or a refill up to the limit while the incoming
// scan is idle; with more, the excess is taken back. in_flow_delay = 0
// turns it off, as in stock.
// This is the one place the plugin touches a descriptor of the host's
// (documented exception: the ABI has no flow-token function yet); it only
// reads and writes tokens, never closes or watches them, and the pipe is
// non-blocking (the master made it so), so a full pipe costs nothing.
#if canImport(Glibc)
import Glibc
#endif

struct InflowControl {
    static let readEnd: Int32 = 3
    static let writeEnd: Int32 = 4

    let enabled: Bool
    let processLimit: Int

    /// After a loop iteration: `fedFromIncoming` a message was just taken
    /// from incoming; `incomingIdle` no incoming scan is running.
    func balance(fedFromIncoming: Bool, incomingIdle: Bool) {
        guard enabled else { return }
        let tokens = Self.count()
        if tokens < processLimit {
            if fedFromIncoming {
                Self.put(1)
            } else if incomingIdle {
                Self.put(processLimit - tokens)
            }
        } else if tokens > processLimit {
            Self.take(tokens - processLimit)
        }
    }

    static func count() -> Int {
        var available: Int32 = 0
        return ioctl(readEnd, UInt(FIONREAD), &available) < 0 ? 0 : Int(available)
    }

    static func put(_ n: Int) {
        guard n > 0 else { return }
        let tokens = [UInt8](repeating: UInt8(ascii: "x"), count: min(n, 4096))
        _ = tokens.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
    }

    static func take(_ n: Int) {
        var buffer = [UInt8](repeating: 0, count: min(n, 4096))
        _ = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
    }
}
