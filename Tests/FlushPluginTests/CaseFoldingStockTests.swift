// CaseFoldingStockTests.swift - DomainList.folded (MailQueue's CaseFolding)
// against stock's own case folding with SMTPUTF8 on: every character of
// Unicode planes 0 and 1 (all cased scripts, including those newer than
// stock's ICU 72), a sample of the planes above and mixed-case words, as
// stock postmap -s prints the texthash keys it casefolded when loading them;
// and bytes that are not UTF-8, which texthash skips, as stock's casefoldx()
// (libpostfix-util, the function behind stock's match lists) folds them.
// Stock's files are checked against the package's md5sums first; missing or
// changed ones fail the tests.
import Foundation
import XCTest
import MailQueue
import TestSupport

final class CaseFoldingStockTests: XCTestCase {
    /// Mixed-case words: context (final sigma, "İ" before other letters),
    /// expansions next to ordinary letters, and scripts side by side.
    private let words = [
        "Straße.Example", "STRASSE", "ΣΊΣΥΦΟΣ", "Ὀδυσσεύς", "ᾈΙ", "ΐΰ", "ŉ'Ǆǅǆ", "İstanbul", "ıI",
        "Москва.РФ", "ԱՐՄԵՆԻԱ.Հայ", "ᏣᎳᎩ.ꮳꮃꭹ", "𐐀𐐨𐐁", "ﬀﬁﬂﬃﬄﬅﬆ", "ﬓﬔ.և", "µſẞß", "ᲀᲈ", "ÅÆØ.ǰẖ",
        "ａｂｃＡＢＣ", "Ⓐⓐ", "𞤀𞤢", "𐲀𐳀", "ꟂꟃꟐꟑ", "Ꞌꞌ", "ΑΒΓ.αβγ.ϐϑϕϖϰϱϵ", "\u{0345}\u{0399}",
    ]

    func testEveryCharacterFoldsAsStockPostmapPrintsIt() throws {
        let postmap = try StockBinaries.verifiedInPlace("/usr/sbin/postmap", runs: StockBinaries.libraries)
        let dir = NSTemporaryDirectory() + "casefold-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Stock folds UTF-8 keys only with smtputf8_enable on: say so, whatever the compatibility level.
        try "smtputf8_enable = yes\n".write(toFile: dir + "/main.cf", atomically: true, encoding: .utf8)

        // Each key starts with an ASCII tag of its own, so no two fold alike
        // (stock would drop a duplicate) and stock's output can be paired with it.
        var keys: [String: String] = [:]
        for value in characterSample() {
            guard let scalar = Unicode.Scalar(value) else { continue }
            keys["c\(String(value, radix: 16))-"] = String(Character(scalar))
        }
        for (index, word) in words.enumerated() {
            keys["w\(index)-"] = word
        }
        let table = keys.map { "\($0.key)\($0.value)\tok\n" }.joined()
        try table.write(toFile: dir + "/keys", atomically: true, encoding: .utf8)

        let result = try runCommand(postmap, ["-c", dir, "-s", "texthash:" + dir + "/keys"], timeout: 120)
        XCTAssertEqual(result.status, 0, result.output.prefix(2000).description)
        // Bytes, not Characters: a tag's "-" and a combining mark after it are one Character.
        var stock: [String: [UInt8]] = [:]
        var unexpected: [String] = []
        for line in Array(result.output.utf8).split(separator: UInt8(ascii: "\n")) {
            guard let tab = line.firstIndex(of: UInt8(ascii: "\t")), let dash = line.firstIndex(of: UInt8(ascii: "-")) else {
                unexpected.append(String(decoding: line, as: UTF8.self))
                continue
            }
            stock[String(decoding: line[...dash], as: UTF8.self)] = Array(line[..<tab])
        }
        XCTAssertEqual(unexpected, [], "postmap said more than keys and values")
        XCTAssertEqual(stock.count, keys.count, "every key comes back from stock")
        XCTAssertEqual(stock["cdf-"], Array("cdf-ss".utf8), "stock folds \"ß\" to \"ss\" (the sample is not ASCII folding only)")

        var differences: [String] = []
        for (tag, text) in keys.sorted(by: { $0.key < $1.key }) {
            let ours = DomainList.folded(Array((tag + text).utf8))
            guard let theirs = stock[tag], ours != theirs else { continue }
            differences.append("\(tag)\(text): stock \(String(decoding: theirs, as: UTF8.self)), ours \(String(decoding: ours, as: UTF8.self))")
        }
        XCTAssertEqual(differences.count, 0, differences.prefix(40).joined(separator: "\n"))
    }

    /// smtputf8_enable chooses the folding as in stock: set to "no", or left
    /// out below compatibility_level 1, stock folds ASCII letters only;
    /// compatibility_level 3.6 alone, or "yes", folds UTF-8. Each main.cf is
    /// read by stock postmap and by DomainList.smtputf8Enabled.
    func testSmtputf8EnableChoosesTheFoldingAsInStock() throws {
        let postmap = try StockBinaries.verifiedInPlace("/usr/sbin/postmap", runs: StockBinaries.libraries)
        let dir = NSTemporaryDirectory() + "casefold-setting-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = words.enumerated().map { "w\($0.offset)-\($0.element)\tok\n" }.joined()
        try table.write(toFile: dir + "/keys", atomically: true, encoding: .utf8)
        let mainCfs: [(text: String, utf8: Bool)] = [
            ("smtputf8_enable = no\n", false), ("", false), ("compatibility_level = 3.6\n", true),
            ("compatibility_level = 3.6\nsmtputf8_enable = NO\n", false), ("smtputf8_enable = Yes\n", true),
        ]
        for mainCf in mainCfs {
            try mainCf.text.write(toFile: dir + "/main.cf", atomically: true, encoding: .utf8)
            let settings = Dictionary(uniqueKeysWithValues: mainCf.text.split(separator: "\n").map { line in
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return (parts[0], parts[1])
            })
            let utf8 = try DomainList.smtputf8Enabled { name, fallback in settings[name] ?? fallback }
            XCTAssertEqual(utf8, mainCf.utf8, "main.cf \(mainCf.text.debugDescription)")
            let result = try runCommand(postmap, ["-c", dir, "-s", "texthash:" + dir + "/keys"], timeout: 60)
            XCTAssertEqual(result.status, 0, result.output.prefix(2000).description)
            let stock = Set(Array(result.output.utf8).split(separator: UInt8(ascii: "\n")).map {
                Array($0.prefix { $0 != UInt8(ascii: "\t") })
            })
            let ours = Set(words.enumerated().map { DomainList.folded(Array("w\($0.offset)-\($0.element)".utf8), utf8: utf8) })
            XCTAssertEqual(stock.count, words.count, "main.cf \(mainCf.text.debugDescription): every key comes back")
            XCTAssertEqual(ours, stock, "main.cf \(mainCf.text.debugDescription)")
            XCTAssertEqual(stock.contains(Array("w0-strasse.example".utf8)), mainCf.utf8, "\"ß\" folded only with UTF-8 on")
        }
    }

    /// Planes 0 and 1 in full (surrogates are not characters), every 97th code
    /// point above, and the last one.
    private func characterSample() -> [UInt32] {
        Array(0x80..<0xD800) + Array(0xE000..<0x20000) + Array(stride(from: 0x20000, to: 0x110000, by: 97)) + [0x10FFFF]
    }

    /// Bytes that are not UTF-8 next to characters that fold: stock keeps
    /// the stray bytes and still folds the characters around them.
    func testBytesThatAreNotUTF8AsStockCasefoldxFoldsThem() throws {
        let fold = try StockCasefold()
        let cases: [[UInt8]] = [
            [0xC3, 0x84, 0xFF, 0x41, 0x42],                   // "Ä", a byte no UTF-8 has, "AB"
            [0xE2, 0x82, 0x41, 0xC3, 0x84],                   // a 3-byte sequence cut short, then "AÄ"
            [0xED, 0xA0, 0x80, 0x58, 0xC3, 0x9F],             // an encoded surrogate, "X", "ß"
            [0xC0, 0xAF, 0xE1, 0xBA, 0x9E],                   // an overlong "/", "ẞ"
            [0xE0, 0x80, 0x80, 0xCE, 0xA3],                   // an overlong NUL, "Σ"
            [0xF4, 0x90, 0x80, 0x80, 0xEF, 0xAC, 0x80],       // above U+10FFFF, "ﬀ"
            [0xF8, 0x88, 0x80, 0x80, 0x80, 0x4B],             // a 5-byte form, "K"
            [0x80, 0xBF, 0xC3, 0x85, 0xFE, 0xFF],             // lone continuation bytes, "Å", FE FF
            [0xF0, 0x9F, 0x98, 0xE1, 0x8E, 0xA0],             // a 4-byte sequence cut short, Cherokee "Ꭰ"
            [0x41, 0xC3],                                     // a lead byte at the end
            [0xF0, 0x90, 0x90, 0x80, 0xF0, 0x90, 0x90],       // Deseret "𐐀", then its first three bytes
            [0xC2, 0x41, 0xC5, 0xBF, 0x53],                   // a lead byte before "A", "ſ", "S"
        ]
        for bytes in cases {
            XCTAssertEqual(DomainList.folded(bytes), try fold(bytes), "\(bytes.map { String($0, radix: 16) })")
        }
        // Random mixtures of characters that fold and of arbitrary bytes (no NUL: stock's strings end there).
        var generator = SplitMix(seed: 0x5EED)
        let pieces: [[UInt8]] = ["ß", "ẞ", "Σ", "ς", "İ", "ﬃ", "ᾈ", "Ꭰ", "ꭰ", "𐐀", "Ǆ", "K", "k", "Ω", "Ա", "Ж"].map { Array($0.utf8) }
        var differences: [String] = []
        for _ in 0..<5000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(generator.next() % 8) {
                if generator.next() % 2 == 0 {
                    bytes += pieces[Int(generator.next() % UInt64(pieces.count))]
                } else {
                    bytes.append(UInt8(1 + generator.next() % 255))
                }
            }
            let stock = try fold(bytes)
            if DomainList.folded(bytes) != stock {
                differences.append("\(bytes.map { String($0, radix: 16) }): stock \(stock.map { String($0, radix: 16) })")
            }
        }
        XCTAssertEqual(differences.count, 0, differences.prefix(20).joined(separator: "\n"))
    }
}

/// Stock's casefoldx(CASEF_FLAG_UTF8, ...) from its utility library, as
/// stock's match lists call it with smtputf8_enable on.
private struct StockCasefold {
    private typealias Casefoldx = @convention(c) (Int32, OpaquePointer?, UnsafePointer<CChar>?, Int) -> UnsafeMutablePointer<CChar>?
    private static let utf8Flag: Int32 = 1   // CASEF_FLAG_UTF8
    private let function: Casefoldx

    init() throws {
        let path = try StockBinaries.verifiedInPlace("/usr/lib/postfix/libpostfix-util.so", runs: [])
        guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw HarnessError("dlopen \(path): \(String(cString: dlerror()))")
        }
        guard let symbol = dlsym(library, "casefoldx") else {
            throw HarnessError("\(path) has no casefoldx")
        }
        function = unsafeBitCast(symbol, to: Casefoldx.self)
    }

    func callAsFunction(_ bytes: [UInt8]) throws -> [UInt8] {
        let text = bytes.map { CChar(bitPattern: $0) } + [0]
        guard let folded = function(Self.utf8Flag, nil, text, bytes.count) else {
            throw HarnessError("casefoldx returned no result")
        }
        return Array(UnsafeRawBufferPointer(start: folded, count: strlen(folded)))
    }
}
