// PrintableTextTests.swift - PrintableText (what every log record goes
// through) against stock's own printable() from libpostfix-util, the
// function stock's msg_output applies to each record, with util_utf8_enable
// on and off: fixed cases (tabs, newlines, DEL, UTF-8, stray and truncated
// sequences) and seeded random byte strings. Stock's library is checked
// against the package's md5sums first; a missing or changed one fails.
import XCTest
import Glibc
import PostfixText
import TestSupport

final class PrintableTextTests: XCTestCase {
    func testRecordsAreMadePrintableAsStockMakesThem() throws {
        let stock = try StockPrintable()
        var cases: [[UInt8]] = [
            Array("plain text, nothing to change".utf8), Array("tab\there\nnewline\r".utf8), [0x01, 0x1F, 0x7F, 0x20, 0x7E],
            Array("Straße ΣΑΣ 日本 😀".utf8), [0xC3], [0xC3, 0x41], [0x80, 0x41], [0xC0, 0x80], [0xC1, 0xBF], [0xC2, 0x80],
            [0xE2, 0x82], [0xE2, 0x82, 0xAC, 0xAC, 0xAC], [0xFE, 0x80], [0xFF, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xED, 0xA0, 0x80],
        ]
        var random = SplitMix(seed: 0x5EED)
        for _ in 0..<3000 {
            let length = Int(random.next() % 24)
            cases.append((0..<length).map { _ in
                // Mostly bytes near the interesting edges.
                let r = random.next()
                switch r % 4 {
                case 0: return UInt8(truncatingIfNeeded: r >> 8)
                case 1: return UInt8(0x80 + (r >> 8) % 0x40)
                case 2: return UInt8(0xC0 + (r >> 8) % 0x40)
                default: return UInt8(0x1E + (r >> 8) % 0x64)
                }
            }.filter { $0 != 0 })
        }
        for utf8 in [true, false] {
            var differences: [String] = []
            for bytes in cases {
                let theirs = try stock(bytes, utf8: utf8)
                let ours = PrintableText.bytes(bytes, utf8: utf8)
                if ours != theirs { differences.append("\(bytes): stock \(theirs), ours \(ours)") }
            }
            XCTAssertEqual(differences.count, 0, "utf8 \(utf8):\n" + differences.prefix(20).joined(separator: "\n"))
        }
        XCTAssertEqual(try stock(Array("a\tb".utf8), utf8: true), Array("a?b".utf8), "stock replaces a tab: the comparison is real")
        XCTAssertEqual(PrintableText.text("tab\there ä", utf8: true), "tab?here ä")
        XCTAssertEqual(PrintableText.text("tab\there ä", utf8: false), "tab?here ??")
    }
}

/// Stock's printable(string, '?') with util_utf8_enable set as asked.
private struct StockPrintable {
    private typealias Printable = @convention(c) (UnsafeMutablePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>?
    private let function: Printable
    private let utf8Enable: UnsafeMutablePointer<Int32>

    init() throws {
        let path = try StockBinaries.verifiedInPlace("/usr/lib/postfix/libpostfix-util.so", runs: [])
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw HarnessError("dlopen \(path): \(String(cString: dlerror()))")
        }
        guard let symbol = dlsym(library, "printable"), let flag = dlsym(library, "util_utf8_enable") else {
            throw HarnessError("\(path) has no printable or util_utf8_enable")
        }
        function = unsafeBitCast(symbol, to: Printable.self)
        utf8Enable = flag.assumingMemoryBound(to: Int32.self)
    }

    func callAsFunction(_ bytes: [UInt8], utf8: Bool) throws -> [UInt8] {
        utf8Enable.pointee = utf8 ? 1 : 0
        // Two NULs: stock's UTF-8 test may read one byte past a lead byte at the end.
        var text = bytes.map { CChar(bitPattern: $0) } + [0, 0]
        guard let result = function(&text, Int32(UInt8(ascii: "?"))) else { throw HarnessError("printable returned NULL") }
        return Array(UnsafeRawBufferPointer(start: result, count: strlen(result)))
    }
}
