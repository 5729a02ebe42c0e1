// IDNA.swift - UTS #46 ToASCII for fast-flush log names, done by the same
// libicu that stock flush(8) links (midna_domain_to_ascii): the library is
// found with dlopen ("libicuuc.so.<major>", symbols suffixed "_<major>")
// in PRE_INIT, as root before the chroot, and one converter is opened with
// stock's options (non-transitional unless enable_idna2003_compatibility).
// Guarantees: conversion never traps; malformed UTF-8 never reaches libicu;
// every refusal carries stock's wording ("malformed UTF-8", the
// UIDNA_ERROR_* names, or ICU's error name). Without libicu (or with one
// that lacks the functions, then closed again), `loaded` is nil and
// FlushLogName refuses non-ASCII sites instead.
#if canImport(Glibc)
import Glibc
#endif

final class IDNA {
    /// UIDNAInfo as uidna.h lays it out (16 bytes).
    private struct Info {
        var size: Int16 = 16
        var isTransitionalDifferent: UInt8 = 0
        var reservedB3: UInt8 = 0
        var errors: UInt32 = 0
        var reservedI2: Int32 = 0
        var reservedI3: Int32 = 0
    }

    private typealias Open = @convention(c) (UInt32, UnsafeMutablePointer<Int32>) -> OpaquePointer?
    private typealias ToASCII = @convention(c) (OpaquePointer?, UnsafePointer<CChar>, Int32, UnsafeMutablePointer<CChar>,
                                                Int32, UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> Int32
    private typealias ErrorName = @convention(c) (Int32) -> UnsafePointer<CChar>?

    /// The converter PRE_INIT opened, nil when libicu is not there.
    nonisolated(unsafe) static var loaded: IDNA?

    private let converter: OpaquePointer
    private let toASCII: ToASCII
    private let errorName: ErrorName

    private init(converter: OpaquePointer, toASCII: ToASCII, errorName: ErrorName) {
        self.converter = converter
        self.toASCII = toASCII
        self.errorName = errorName
    }

    /// Opens libicu's UTS #46 converter (call before the chroot).
    static func load(transitional: Bool) -> IDNA? {
        // ICU's sonames and symbols carry its major version; try the plausible ones.
        for major in (50...99).reversed() {
            guard let library = dlopen("libicuuc.so.\(major)", RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let open = dlsym(library, "uidna_openUTS46_\(major)"),
                  let convert = dlsym(library, "uidna_nameToASCII_UTF8_\(major)"),
                  let name = dlsym(library, "u_errorName_\(major)") else {
                dlclose(library)
                return nil
            }
            var error: Int32 = 0
            let nonTransitionalToASCII: UInt32 = 0x10
            guard let converter = unsafeBitCast(open, to: Open.self)(transitional ? 0 : nonTransitionalToASCII, &error),
                  error <= 0 else {
                dlclose(library)
                return nil
            }
            return IDNA(converter: converter, toASCII: unsafeBitCast(convert, to: ToASCII.self),
                        errorName: unsafeBitCast(name, to: ErrorName.self))
        }
        return nil
    }

    /// The name's ASCII form, or stock's reason why there is none.
    func ascii(_ name: [UInt8]) -> Result<[UInt8], FlushLogName.Refusal> {
        guard String(validating: name, as: UTF8.self) != nil, !name.contains(0) else {
            return .failure(.conversion("malformed UTF-8"))
        }
        var output = [CChar](repeating: 0, count: 1024)
        var info = Info()
        var error: Int32 = 0
        let input = name.map { CChar(bitPattern: $0) } + [0]
        let length = toASCII(converter, input, Int32(name.count), &output, Int32(output.count - 1), &info, &error)
        guard error <= 0, info.errors == 0, length > 0 else {
            return .failure(.conversion(info.errors != 0 ? Self.names(info.errors)
                                        : errorName(error).map { String(cString: $0) } ?? "ICU error \(error)"))
        }
        return .success(output[0..<Int(length)].map { UInt8(bitPattern: $0) })
    }

    private static let errorNames: [(UInt32, String)] = [
        (0x1, "EMPTY_LABEL"), (0x2, "LABEL_TOO_LONG"), (0x4, "DOMAIN_NAME_TOO_LONG"), (0x8, "LEADING_HYPHEN"),
        (0x10, "TRAILING_HYPHEN"), (0x20, "HYPHEN_3_4"), (0x40, "LEADING_COMBINING_MARK"), (0x80, "DISALLOWED"),
        (0x100, "PUNYCODE"), (0x200, "LABEL_HAS_DOT"), (0x400, "INVALID_ACE_LABEL"), (0x800, "BIDI"), (0x1000, "CONTEXTJ"),
    ]

    /// The UIDNA_ERROR_* names of `errors`, comma-separated; other bits as a number.
    private static func names(_ errors: UInt32) -> String {
        var rest = errors
        var out: [String] = []
        for (bit, name) in errorNames where errors & bit != 0 {
            out.append("UIDNA_ERROR_" + name)
            rest &= ~bit
        }
        if rest != 0 { out.append("0x" + String(rest, radix: 16)) }
        return out.joined(separator: ",")
    }
}
