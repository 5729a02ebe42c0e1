// ABIStrings.swift - moving strings across the ABI: Swift String to mh_str
// for the duration of a call, and the host's copy-into-my-buffer convention
// back to String. Nothing here keeps a pointer after the call returns.
import MailhostPluginABI

/// Calls `body` with `text` as an mh_str valid only during the call.
func withMHStr<R>(_ text: String, _ body: (mh_str) -> R) -> R {
    var copy = text
    return copy.withUTF8 { bytes in
        let base = bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
        return body(mh_str(ptr: base, len: bytes.count))
    }
}

/// The host's convention: `fill(buffer, size)` copies and returns the full
/// length; a result >= size means "call again with a larger buffer".
/// Bounded: gives up (empty string) after a few growing attempts.
func copyOutString(_ fill: (UnsafeMutablePointer<CChar>, Int) -> Int) -> String {
    var size = 256
    for _ in 0..<6 {
        var buffer = [CChar](repeating: 0, count: size)
        let needed = buffer.withUnsafeMutableBufferPointer { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return fill(base, raw.count)
        }
        if needed < size {
            return String(decoding: buffer[0..<needed].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        size = needed + 1
    }
    return ""
}

/// A string as UTF-8 bytes in permanent memory (never freed): for the static
/// descriptor, which must stay valid for the life of the process.
func permanentMHStr(_ text: String) -> mh_str {
    var copy = text
    return copy.withUTF8 { bytes in
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (index, byte) in bytes.enumerated() { storage[index] = CChar(bitPattern: byte) }
        storage[bytes.count] = 0
        return mh_str(ptr: UnsafePointer(storage), len: bytes.count)
    }
}

/// Reads an mh_str (e.g. from a descriptor) into a String.
public func string(from value: mh_str) -> String {
    guard let pointer = value.ptr, value.len > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: value.len), as: UTF8.self)
}
