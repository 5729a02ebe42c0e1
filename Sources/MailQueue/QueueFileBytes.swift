// QueueFileBytes: random access to the bytes of a queue file, either held in
// memory (tests, fuzzing, a record stream already received) or read from an
// open descriptor with pread(2) through a window, so that reading the
// envelope of a large message does not read its content.
//
// The size is fixed when the value is made (fstat for descriptors): bytes
// appended later are not seen, which is what a reader of a committed queue
// file wants. The descriptor is borrowed, never closed here.
#if canImport(Glibc)
import Glibc
#endif

public struct QueueFileBytes {
    public let name: String
    public let size: Int
    private let descriptor: Int32?
    private var window: [UInt8]
    private var windowStart: Int

    /// How much one pread fetches.
    static let windowSize = 64 * 1024

    /// Bytes in memory; `name` is used in error values.
    public init(bytes: [UInt8], name: String) {
        self.name = name
        size = bytes.count
        descriptor = nil
        window = bytes
        windowStart = 0
    }

    /// An open file; the caller keeps ownership of `descriptor`.
    public init(descriptor: Int32, name: String) throws(QueueFileError) {
        var st = stat()
        guard fstat(descriptor, &st) == 0 else {
            throw QueueFileError(file: name, offset: -1, problem: .system(operation: "fstat", errno: errno))
        }
        self.name = name
        size = Int(st.st_size)
        self.descriptor = descriptor
        window = []
        windowStart = 0
    }

    /// `count` bytes at `offset`; the range must lie within `size`.
    mutating func bytes(at offset: Int, count: Int) throws(QueueFileError) -> ArraySlice<UInt8> {
        precondition(offset >= 0 && count >= 0 && offset <= size - count, "read outside the file")
        if count == 0 { return [] }
        if offset >= windowStart && offset + count <= windowStart + window.count {
            let start = offset - windowStart
            return window[start..<(start + count)]
        }
        guard let fd = descriptor else { preconditionFailure("memory window covers the whole file") }
        let length = Swift.max(count, Swift.min(QueueFileBytes.windowSize, size - offset))
        var buffer = [UInt8](repeating: 0, count: length)
        var got = 0
        while got < length {
            let n = buffer.withUnsafeMutableBytes { raw in
                SystemError.retrying { pread(fd, raw.baseAddress! + got, length - got, off_t(offset + got)) }
            }
            if n < 0 {
                throw QueueFileError(file: name, offset: offset, problem: .system(operation: "read", errno: errno))
            }
            if n == 0 { break }
            got += n
        }
        guard got >= count else {
            // The file shrank under us: report it as the truncation it is.
            throw QueueFileError(file: name, offset: offset + got, problem: .fileShrank(expectedSize: size))
        }
        if got < length { buffer.removeSubrange(got...) }
        window = buffer
        windowStart = offset
        return window[0..<count]
    }
}
