// StatusChannel.swift - the per-service channel children report on.
//
// A socketpair: all children of a service share one end as descriptor 5,
// the master keeps both ends (so the channel never reaches EOF while the
// master lives) and reads 12-byte native records {pid, generation, status}.
// Closing both ends is how a service's children are told to retire: they
// see EOF on descriptor 5 and exit once idle. The records are decoded by
// MasterProtocol's StatusRecords, the code the unit tests and fuzzer run.

import Glibc

enum StatusRead {
    /// Records were delivered; the size of a trailing fragment (0 when none).
    case updates(fragment: Int)
    case failed(String)
    case empty
}

final class StatusChannel {
    let masterFD: Int32
    let childFD: Int32

    init?() {
        var fds: [Int32] = [-1, -1]
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &fds) == 0 else { return nil }
        masterFD = fds[0]
        childFD = fds[1]
        setDescriptorFlags(masterFD, nonBlocking: true)
    }

    /// Room for many records, so one read() takes everything queued.
    private var buffer = [UInt8](repeating: 0, count: StatusUpdate.size * 64)

    /// Reads every queued record with one read() and hands each to `body`;
    /// children write each record with a single write(), so records arrive whole.
    func readUpdates(_ body: (StatusUpdate) -> Void) -> StatusRead {
        let count = buffer.withUnsafeMutableBytes { read(masterFD, $0.baseAddress, $0.count) }
        if count < 0 {
            return errno == EAGAIN || errno == EINTR ? .empty : .failed(errnoText())
        }
        if count == 0 { return .empty }
        let fragment = buffer.withUnsafeBytes { raw in
            StatusRecords.decode(UnsafeRawBufferPointer(rebasing: raw[0..<count]), body)
        }
        return .updates(fragment: fragment)
    }

    func close() {
        _ = Glibc.close(masterFD)
        _ = Glibc.close(childFD)
    }
}
