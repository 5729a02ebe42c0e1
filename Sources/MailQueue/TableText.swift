// TableText: the text of a regexp: or cidr: table as stock's
// dict_stream_open gives it to the table's parser: the file the table's
// name names (read in full, as root before the jail when the caller is),
// or, for a name in braces ("{{rule}, {rule}}"), each braced rule on a
// line of its own, white space around it removed.
// Guarantees: never traps; a file that cannot be opened, or inline text
// whose braces stock refuses, is an error with stock's reason ("open
// <path>: <strerror>", "<type> map: <brace problem>"); a read error ends
// the text where it happened and is reported with it (the caller decides
// what stock does then).
#if canImport(Glibc)
import Glibc
#endif

struct TableText: Equatable {
    let bytes: [UInt8]
    /// How stock's warnings name the text: the path, or "unknown_stream" for inline rules.
    let source: String
    /// errno of a failed read (the bytes before it are kept), nil when the whole file was read.
    let readError: Int32?

    struct Failure: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    /// The text of `type:name`.
    static func read(type: String, name: String) -> Result<TableText, Failure> {
        if name.hasPrefix("{") { return inline(type: type, name: name) }
        return file(name)
    }

    private static func inline(type: String, name: String) -> Result<TableText, Failure> {
        let outer: ArraySlice<UInt8>
        switch BracedText.inside(CText.cString(Array(name.utf8))[...], strip: false) {
        case .success(let inside): outer = inside
        case .failure(let why): return .failure(Failure(description: "\(type) map: \(why)"))
        }
        var bytes: [UInt8] = []
        for item in BracedText.items(outer) {
            switch BracedText.inside(item[...], strip: true) {
            case .success(let rule): bytes += rule + [UInt8(ascii: "\n")]
            case .failure(let why): return .failure(Failure(description: "\(type) map: \(why)"))
            }
        }
        return .success(TableText(bytes: bytes, source: "unknown_stream", readError: nil))
    }

    private static func file(_ path: String) -> Result<TableText, Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(description: "open \(path): \(SystemError.text(errno))")) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = SystemError.retrying { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if count < 0 { return .success(TableText(bytes: bytes, source: path, readError: errno)) }
            if count == 0 { break }
            bytes += chunk.prefix(count)
        }
        return .success(TableText(bytes: bytes, source: path, readError: nil))
    }
}
