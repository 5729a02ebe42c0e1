// StatusRecord.swift - the 12-byte record a child writes on descriptor 5.
//
// The layout of Postfix's struct master_status on this (little-endian)
// platform: {pid, generation, status}, each a 32-bit word. The encoder is what
// plugin workers write; the decoder is what the master's StatusChannel runs on
// every read, so the unit tests and the fuzz target exercise the master's own
// code. The decoder never reads past the bytes it is given.

public struct StatusUpdate: Equatable, Sendable {
    public static let size = 12
    public static let taken: Int32 = 0
    public static let available: Int32 = 1

    public let pid: Int32
    public let generation: UInt32
    public let status: Int32

    public init(pid: Int32, generation: UInt32, status: Int32) {
        self.pid = pid
        self.generation = generation
        self.status = status
    }

    /// The record as one write() sends it.
    public var bytes: [UInt8] {
        var record: [UInt8] = []
        record.reserveCapacity(StatusUpdate.size)
        for word in [UInt32(bitPattern: pid), generation, UInt32(bitPattern: status)] {
            for shift in stride(from: 0, to: 32, by: 8) { record.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return record
    }
}

public enum StatusRecords {
    /// Hands every whole record in `bytes` to `body`, in order, and returns
    /// the size of the trailing fragment that is not a whole record (0 when
    /// none). Children write each record with one write(), so a fragment
    /// means a child wrote garbage; the master reports it and drops it.
    public static func decode(_ bytes: UnsafeRawBufferPointer, _ body: (StatusUpdate) -> Void) -> Int {
        let whole = bytes.count - bytes.count % StatusUpdate.size
        for offset in stride(from: 0, to: whole, by: StatusUpdate.size) {
            body(StatusUpdate(
                pid: Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)),
                generation: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)),
                status: Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self))))
        }
        return bytes.count - whole
    }
}
