// FuzzInput.swift - compiled into every fuzz target: the input as bytes and
// text, split the way a target needs it, and the check that turns a broken
// invariant into a crash libFuzzer records.

struct FuzzInput {
    let bytes: [UInt8]
    private var position = 0

    init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }

    /// Everything, as the configuration readers decode files (invalid UTF-8 replaced).
    var text: String { String(decoding: bytes, as: UTF8.self) }

    var atEnd: Bool { position >= bytes.count }

    /// The next byte, 0 when the input is used up.
    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// Bytes up to (not including) the next `separator`, which is consumed.
    mutating func field(until separator: UInt8) -> [UInt8] {
        let start = position
        while position < bytes.count && bytes[position] != separator { position += 1 }
        defer { position = min(position + 1, bytes.count) }
        return Array(bytes[start..<position])
    }

    mutating func line() -> String { String(decoding: field(until: UInt8(ascii: "\n")), as: UTF8.self) }

    /// The unread rest.
    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[min(position, bytes.count)...])
    }
}

/// A broken invariant: stop with a message (libFuzzer saves the input).
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant broken: " + message()) }
}
