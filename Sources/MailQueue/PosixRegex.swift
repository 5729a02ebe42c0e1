// PosixRegex: a POSIX regular expression compiled and run by Glibc's
// regcomp(3)/regexec(3), the library stock's regexp tables use, always in
// the "C" locale (bytes, not characters; ASCII-only case folding), which
// is the locale stock's daemons run in, whatever this process's locale is.
// Guarantees: a pattern that does not compile is an error carrying
// regerror's text; matching never traps (a subject is cut at its first
// NUL, as a C string is); the compiled form is freed with the value.
#if canImport(Glibc)
import Glibc
#endif

/// Immutable after compilation; glibc's regexec locks the compiled
/// pattern itself, so one value may be used from several threads.
final class PosixRegex: @unchecked Sendable, Equatable {
    struct CompileError: Error, Equatable {
        /// regerror's text.
        let message: String
    }

    enum Outcome: Equatable {
        /// Matched; for each subexpression asked for (0 = the whole
        /// match), its byte range in the subject, nil when it took no part.
        case matched([Range<Int>?])
        case noMatch
        /// regexec failed (out of memory, ...): regerror's text.
        case failed(String)
    }

    /// The pattern's text and regcomp flags, as compiled.
    let source: [UInt8]
    let flags: Int32
    private let compiled: UnsafeMutablePointer<regex_t>

    /// The number of parenthesised subexpressions (re_nsub).
    var subexpressionCount: Int { Int(compiled.pointee.re_nsub) }

    private init(source: [UInt8], flags: Int32, compiled: UnsafeMutablePointer<regex_t>) {
        self.source = source
        self.flags = flags
        self.compiled = compiled
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    /// `source` (up to its first NUL) compiled with `flags` (REG_EXTENDED, REG_ICASE, ...).
    static func compile(_ source: [UInt8], flags: Int32) -> Result<PosixRegex, CompileError> {
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        compiled.initialize(to: regex_t())
        let status = inCLocale { withCString(source) { regcomp(compiled, $0, flags) } }
        guard status == 0 else {
            let message = errorText(status, compiled)
            compiled.deallocate()
            return .failure(CompileError(message: message))
        }
        return .success(PosixRegex(source: source, flags: flags, compiled: compiled))
    }

    /// Matches `subject`, reporting the ranges of subexpressions 0..<`groups` (0: none).
    func match(_ subject: [UInt8], groups: Int) -> Outcome {
        var ranges = [regmatch_t](repeating: regmatch_t(), count: max(groups, 1))
        let status = Self.inCLocale {
            Self.withCString(subject) { text in
                ranges.withUnsafeMutableBufferPointer { regexec(compiled, text, groups, $0.baseAddress, 0) }
            }
        }
        if status == Int32(_REG_NOMATCH.rawValue) { return .noMatch }
        guard status == 0 else { return .failed(Self.errorText(status, compiled)) }
        return .matched(ranges.prefix(groups).map { m in
            m.rm_so < 0 || m.rm_eo < m.rm_so ? nil : Int(m.rm_so)..<Int(m.rm_eo)
        })
    }

    /// Same text, same flags: the same compiled pattern.
    static func == (a: PosixRegex, b: PosixRegex) -> Bool { a.source == b.source && a.flags == b.flags }

    private static func errorText(_ status: Int32, _ compiled: UnsafePointer<regex_t>) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = regerror(status, compiled, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `bytes` up to the first NUL, NUL-terminated (the pointer is never nil: the buffer holds the NUL).
    private static func withCString<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>?) -> T) -> T {
        let text = Array(CText.cString(bytes)) + [0]
        return text.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress) }
        }
    }

    /// The "C" locale (character classes and collation) for this thread.
    nonisolated(unsafe) private static let cLocale = newlocale(LC_CTYPE_MASK | LC_COLLATE_MASK, "C", nil)

    /// Runs `body` with this thread in the "C" locale (uselocale), then restores the thread's locale.
    private static func inCLocale<T>(_ body: () -> T) -> T {
        guard let cLocale else { return body() }
        let previous = uselocale(cLocale)
        defer { if let previous { uselocale(previous) } }
        return body()
    }
}
