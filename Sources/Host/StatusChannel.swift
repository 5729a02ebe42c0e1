// StatusChannel.swift - the per-service channel children report on.
//
// A socketpair: all children of a service share one end as descriptor 5,
// the master keeps both ends (so the channel never reaches EOF while the
// master lives) and reads 12-byte native records {pid, generation, status}.
// Closing both ends is how a service's children are told to retire: they
// see EOF on descriptor 5 and exit once idle.

import Glibc

struct StatusUpdate: Equatable {
    static let size = 12
    static let taken: Int32 = 0
    static let available: Int32 = 1

    let pid: pid_t
    let generation: UInt32
    let status: Int32

    init(pid: pid_t, generation: UInt32, status: Int32) {
        self.pid = pid
        self.generation = generation
        self.status = status
    }

    /// Decodes the native little-endian layout of struct master_status.
    init(bytes: ArraySlice<UInt8>) {
        func word(_ offset: Int) -> UInt32 {
            let base = bytes.startIndex + offset
            return UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8
                | UInt32(bytes[base + 2]) << 16 | UInt32(bytes[base + 3]) << 24
        }
        pid = pid_t(bitPattern: word(0))
        generation = word(4)
        status = Int32(bitPattern: word(8))
    }
}

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
        let whole = count - count % StatusUpdate.size
        buffer.withUnsafeBytes { raw in
            for offset in stride(from: 0, to: whole, by: StatusUpdate.size) {
                body(StatusUpdate(
                    pid: pid_t(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)),
                    generation: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)),
                    status: Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self))))
            }
        }
        return .updates(fragment: count - whole)
    }

    func close() {
        _ = Glibc.close(masterFD)
        _ = Glibc.close(childFD)
    }
}
