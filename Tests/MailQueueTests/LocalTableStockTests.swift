// LocalTableStockTests.swift - LocalTable (regexp:, cidr:, static:, fail:,
// unionmap:, pipemap:) against Debian's stock postmap 3.7: for tables with
// many rules (negation, if/endif, flags, substitution, bad rules, IPv4
// and IPv6 forms, continuation lines, inline text) and many keys, each
// key's answer (found or not, and the value) is what `postmap -q - TABLE`
// prints, and the warnings given while the table is read are stock's, in
// stock's order; a table stock cannot open is an error notice with stock's
// reason (postmap makes it fatal; a daemon logs it as an error), a cidr
// read error is fatal in both, and a lookup error in stock is one here.
import Foundation
import XCTest
import Glibc
import TestSupport
import MailQueue

final class LocalTableStockTests: XCTestCase {
    private var dir = ""
    private var postmap = ""

    override func setUpWithError() throws {
        // Throws (fails the test) when Debian's postfix package is missing or altered.
        postmap = try StockBinaries.verifiedInPlace("/usr/sbin/postmap", runs: StockBinaries.libraries)
        dir = NSTemporaryDirectory() + "localtable-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Stock's UTF-8 layer needs smtputf8_enable (Debian's main.cf gets it from compatibility_level).
        try write("main.cf", "smtputf8_enable = yes\n")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: regexp

    func testRegexpTableAnswersAsStock() throws {
        let text = """
            # leading comment
               continuation of nothing
            /^exact\\.example$/\texact
            /^nul/ before\0after
            /^(sub)\\.(example)\\.com$/ sub=$1 dom=${2} both=$(1).$2 dollar=$$ end
            /^([a-z]+)-(x)?-([0-9]+)$/ first=$1 opt=[$2] num=$3
            /^CaseSensitive/i matched-case
            /^upper/ upper-default-icase
            /^neg-a/!/-b$/ a-not-b
            /^neg2-a/!!/-b$/ a-and-b
            |^pipe\\|delim| alt-delim
            /^esc\\/slash/ escaped
            /^trail\\
            /^multi line$/m multi
            /^x mode (a b)$/x basic-mode
            /^x mode (a b)$/ ext-mode
            /^cont/ part1
              part2
            # comment inside continuation

            \tpart3
            if /^block\\./
            /^block\\.one$/ in-block-one
            IF !/two/
            /^block\\./ in-block-not-two
            ENDIF
            endif trailing text
            endif
            /^block\\./ after-block
            If/^b2/ extra words
            /^b2x/ b2x-value
            endif
            /^bad(/ bad-open
            /^a/q bad-flag
            /^b/ $0
            /^c(d)/ $2
            !/^e(f)/ $1
            /^g/ $x and $y
            /^h/ ${1
            /^i/ $
            /^j/
            x unrecognised
            !
            /unclosed
             ! spaced
            /^k(l)/ $4294967297
            /^m(n)/ $2147483648
            /^(o)(p)?(q)?/ [$1|$2|$3]
            /^crlf$/ crlf-value\r
            /^utf/ ü-value
            !/\\./ no-dot
            /^last-if\\.z$/ z-before
            if /^last-if\\.x/
            if /y/
            /^last-if\\.xy/ inside-last-if

            """
        let table = try write("flush.re", text)
        var keys = ["exact.example", "EXACT.example", "exact.example.org", "sub.example.com", "SUB.example.com",
                    "abc-x-12", "abc--12", "abc-y-12", "CaseSensitive-x", "casesensitive-x", "UPPER-case", "upper",
                    "neg-a-b", "neg-a-c", "neg2-a-b", "neg2-a-c", "pipe|delim", "pipe", "delim", "esc/slash", "trail",
                    "trailing", "x mode (a b)", "x mode a b", "cont", "continued", "block.one", "block.two", "block.three",
                    "block.xtwo", "b2", "b2x", "b2x.y", "bad(", "a", "b", "cd", "ef", "e", "g", "h", "i", "j", "kl", "mn",
                    "o", "op", "oq", "opq", "crlf", "nul", "utf8", "last-if.x", "last-if.xy", "last-if.z", "last-if.zz", "random.example",
                    "", "with space", "é.example", "x", "unrecognised"].map { Array($0.utf8) }
        keys.append([0xFF, 0x2E, 0x65])   // not UTF-8: stock skips it (not found)
        let stock = try stockAnswers("regexp:" + table, keys: keys)
        XCTAssertTrue(stock.warnings.count > 20, "the table must exercise stock's warnings: \(stock.warnings)")
        XCTAssertTrue(stock.found.count > 40, "most keys must be found: \(stock.found.count)")
        XCTAssertEqual(stock.found[Array("nul".utf8)], Array("before".utf8), "a rule ends at a NUL byte")
        XCTAssertEqual(stock.found[Array("last-if.xy".utf8)], Array("inside-last-if".utf8))
        XCTAssertTrue(stock.lookupWarnings.contains { $0.contains("non-UTF-8 key") }, "\(stock.lookupWarnings)")
        try assertOursAnswer("regexp:" + table, keys: keys, as: stock)
    }

    func testInlineRegexpAndItsBraceErrors() throws {
        let inline = "regexp:{{/^in(line)$/ got-$1}, {!/x/ nox}, { /^sp/  spaced  }, {}, {if /^z/}, {/^z(z)/ zz$1}, {endif}}"
        let keys = ["inline", "sp", "spx", "x", "zz", "zzz", "INLINE"].map { Array($0.utf8) }
        try assertOursAnswer(inline, keys: keys, as: try stockAnswers(inline, keys: keys))
        for bad in ["regexp:{/a/ x}", "regexp:{{/a/ x}}junk", "regexp:{{/a/ x}, {/b/ y}x}", "regexp:{{/a/ x}"] {
            try assertUnavailableAsStock(bad)
        }
    }

    /// A result that is not UTF-8 (a literal, or a "$1" that cuts a
    /// character in two: patterns match bytes) is a lookup error in both.
    func testNonUTF8ResultsAreLookupErrors() throws {
        var text = Array("/^(.).split/ $1\n/^fine/ ok\n/^bad/ ".utf8)
        text += [0xFF, 0x0A]
        let table = dir + "/values.re"
        XCTAssertTrue(FileManager.default.createFile(atPath: table, contents: Data(text)))
        let opened = try XCTUnwrap(LocalTable.open("regexp:" + table, dump: nil))
        for key in ["üsplit", "bad"] {
            guard case .failed(let detail) = opened.table.lookup(Array(key.utf8)) else {
                return XCTFail("\(key): a non-UTF-8 result must be a lookup error")
            }
            XCTAssertTrue(detail?.contains("non-UTF-8 value") == true, "\(detail ?? "nil")")
            let stock = try stockAnswers("regexp:" + table, keys: [Array(key.utf8)])
            XCTAssertEqual(stock.fatal, "table regexp:\(table): query error", "stock: \(stock)")
            XCTAssertEqual([detail], stock.warnings, "the warning, its bytes made printable as stock's")
        }
        XCTAssertEqual(opened.table.lookup(Array("xysplit".utf8)), .found(Array("x".utf8)))
        XCTAssertEqual(opened.table.lookup(Array("fine".utf8)), .found(Array("ok".utf8)))
    }

    // MARK: cidr

    func testCidrTableAnswersAsStock() throws {
        let text = """
            # cidr rules
              continuation of nothing
            1.2.3.4 exact-v4
            1.2.3.0/24\tnet24
            [10.0.0.0/8] bracket-inside
            [172.16.0.0]/12 bracket-outside
            2001:db8::/32 doc-v6
            [2001:db8:1::1] exact-v6-bracket
            ::ffff:0:0/96 v4-mapped
            1.2.3.5/24 host-bits
            2001:db8::1/16 host-bits-v6
            [1.2.3.7 missing-bracket
            [1.2.3.8]x garbage
            [1.2.3.0/24]/8 double-mask
            1.2.3.9/ empty-mask
            1.2.3.10/a bad-mask
            1.2.3.11/33 too-long
            2001:db8::/129 too-long-v6
            1.2.3.256 bad-address
            01.2.3.4 leading-zero
            1.2.3.12
            !
            ifx 1.2.3.4 not-if
            if 100.64.0.0/10
            100.64.1.0/24 cgnat-1
            if !100.64.2.0/24
            100.64.0.0/10 cgnat-not-2
              continued
            endif
            endif
            endif
            ENDIF garbage
            if
            if 1.2.3.0/24 extra
            IF ! fd00::/8
            ::/0 v6-not-fd
            endif
            5.6.7.0/280 wrapped-24
            1.2.3.12/4294967320 wrapped-huge
            if 8.0.0.0/8
            ! 8.8.0.0/16 in-8-not-8-8
            0.0.0.0/256 wrapped-0
            endif
            fd00::/8 fd
            if 9.9.9.0/24
            9.9.9.9 nine

            """
        let table = try write("clients.cidr", text)
        let keys = ["1.2.3.4", "1.2.3.99", "10.1.2.3", "172.20.0.1", "172.32.0.1", "2001:db8::5", "2001:DB8::5",
                    "2001:db8:1::1", "2001:db8:0001:0:0:0:0:1", "::ffff:1.2.3.4", "::ffff:10.0.0.1", "100.64.1.5",
                    "100.64.2.5", "100.64.3.5", "192.168.1.1", "8.8.8.8", "8.1.1.1", "9.9.9.8", "5.6.7.8", "::1", "fe80::1", "fd12::1",
                    "example.com", "1.2.3", "01.2.3.4", "[1.2.3.4]", "1.2.3.4 ", "", "9.9.9.9", "1.2.3.4.5",
                    "::ffff:192.168.0.1", "0.0.0.0", "255.255.255.255"].map { Array($0.utf8) } + [[0xC3, 0x28]]
        let stock = try stockAnswers("cidr:" + table, keys: keys)
        XCTAssertTrue(stock.warnings.count > 15, "the table must exercise stock's warnings: \(stock.warnings)")
        XCTAssertTrue(stock.found.count > 15, "most keys must be found: \(stock.found.count)")
        XCTAssertEqual(stock.found[Array("9.9.9.9".utf8)], Array("nine".utf8))
        try assertOursAnswer("cidr:" + table, keys: keys, as: stock)

        let inline = "cidr:{{1.2.3.0/24 net}, {!::1 not-loopback-v6}, {[fe80::]/10 link-local}}"
        let inlineKeys = ["1.2.3.4", "::1", "::2", "fe80::1", "1.2.4.4"].map { Array($0.utf8) }
        try assertOursAnswer(inline, keys: inlineKeys, as: try stockAnswers(inline, keys: inlineKeys))
        try assertUnavailableAsStock("cidr:{1.2.3.4 x}")
    }

    /// A file that cannot be opened: stock's reason, as an error here (a
    /// daemon's surrogate table) and fatal in postmap; a cidr table that
    /// cannot be read (a directory) is fatal in both; a regexp table that
    /// cannot be read is empty in both.
    func testUnreadableTables() throws {
        try assertUnavailableAsStock("regexp:\(dir)/missing.re")
        try assertUnavailableAsStock("cidr:\(dir)/missing.cidr")
        let directory = try XCTUnwrap(LocalTable.open("cidr:" + dir, dump: nil))
        let stock = try stockAnswers("cidr:" + dir, keys: [Array("1.2.3.4".utf8)])
        XCTAssertEqual(directory.notices, [TableNotice(.fatal, try XCTUnwrap(stock.fatal))])
        XCTAssertEqual(stock.fatal, "cidr map \(dir): read error: Is a directory")
        let regexpDirectory = try XCTUnwrap(LocalTable.open("regexp:" + dir, dump: nil))
        XCTAssertEqual(regexpDirectory.notices, [])
        XCTAssertEqual(regexpDirectory.table.lookup(Array("a".utf8)), .notFound)
        let stockRegexp = try stockAnswers("regexp:" + dir, keys: [Array("a".utf8)])
        XCTAssertNil(stockRegexp.fatal)
        XCTAssertEqual(stockRegexp.found, [:])
    }

    // MARK: static, fail, unionmap, pipemap

    func testStaticAndFail() throws {
        let keys = ["a.example", "B.example", ""].map { Array($0.utf8) }
        for spec in ["static:abc", "static:{ a b }", "static:{}", "static:{{x}}"] {
            try assertOursAnswer(spec, keys: keys, as: try stockAnswers(spec, keys: keys))
            XCTAssertTrue(try XCTUnwrap(LocalTable.open(spec, dump: nil)).table.hasFixedKeys, "static has fixed keys")
        }
        for bad in ["static:{abc", "static:{ab}c"] { try assertUnavailableAsStock(bad) }

        let fail = try XCTUnwrap(LocalTable.open("fail:why", dump: nil))
        XCTAssertEqual(fail.table.lookup(Array("a".utf8)), .failed(detail: nil))
        XCTAssertEqual(try stockAnswers("fail:why", keys: [Array("a".utf8)]).fatal, "table fail:why: query error: Application error")
    }

    func testUnionAndPipeOfLocalTables() throws {
        let hash = try write("relay", "a.example first\nb.example second\nmapped.example hash-of-mapped\n")
        let built = try runCommand(postmap, ["-c", dir, "hash:" + hash], timeout: 30)
        XCTAssertEqual(built.status, 0, built.output)
        let regexp = try write("map.re", "/^(a|c)\\.example$/ re-$1\n/^empty\\./\n/^m/ mapped.example\n")
        let keys = ["a.example", "b.example", "c.example", "empty.example", "mx.example", "none.example"].map { Array($0.utf8) }
            + [[0x61, 0xE9, 0x2E, 0x65]]   // not UTF-8: the union's own layer warns, its members never see it
        let dump = TableDump.postmap(postmap, configDirectory: dir)
        for spec in ["unionmap:{hash:\(hash), regexp:\(regexp), static:{always}}",
                     "unionmap:{regexp:\(regexp), cidr:{{1.2.3.0/24 net}}, hash:\(hash)}",
                     "unionmap:{regexp:\(regexp), static:x}",
                     "pipemap:{regexp:\(regexp), hash:\(hash)}",
                     "pipemap:{hash:\(hash), static:{then static}}"] {
            try assertOursAnswer(spec, keys: keys, as: try stockAnswers(spec, keys: keys), dump: dump)
        }
        XCTAssertTrue(try XCTUnwrap(LocalTable.open("unionmap:{hash:\(hash), regexp:\(regexp)}", dump: dump)).table.hasFixedKeys,
                      "the first member decides: hash has fixed keys")
        XCTAssertFalse(try XCTUnwrap(LocalTable.open("pipemap:{regexp:\(regexp), hash:\(hash)}", dump: dump)).table.hasFixedKeys)
        for bad in ["unionmap:{}", "unionmap:{ , }", "unionmap:{abc}", "pipemap:{static:a", "pipemap:{static:a}x"] {
            try assertUnavailableAsStock(bad)
        }
        XCTAssertNil(LocalTable.open("unionmap:{static:a, proxy:hash:\(hash)}", dump: dump), "a member for proxymap: not local")
        XCTAssertNil(LocalTable.open("unionmap:{static:a, hash:\(hash)}", dump: nil), "no dump: fixed-key members are not local")
        XCTAssertNil(LocalTable.open("proxy:regexp:\(regexp)", dump: dump))
        XCTAssertNil(LocalTable.open("pcre:\(regexp)", dump: dump), "pcre is Debian's postfix-pcre: left to proxymap")
        let missingMember = try XCTUnwrap(LocalTable.open("unionmap:{static:a, regexp:\(dir)/missing}", dump: dump))
        XCTAssertEqual(missingMember.notices, [TableNotice(.error, "open \(dir)/missing: No such file or directory")])
        XCTAssertEqual(missingMember.table.lookup(Array("k".utf8)),
                       .failed(detail: "regexp:\(dir)/missing is unavailable. open \(dir)/missing: No such file or directory"))
        let emptyName = try XCTUnwrap(LocalTable.open("unionmap:{static:a, regexp:}", dump: dump))
        XCTAssertEqual(emptyName.notices.last, TableNotice(.fatal, "open dictionary: expecting \"type:name\" form instead of \"regexp:\""))
        XCTAssertEqual(try stockAnswers("unionmap:{static:a, regexp:}", keys: [Array("k".utf8)]).fatal,
                       "open dictionary: expecting \"type:name\" form instead of \"regexp:\"")
    }

    // MARK: comparison helpers

    struct StockAnswers: CustomStringConvertible {
        var found: [[UInt8]: [UInt8]] = [:]
        /// Warnings given while the table is read.
        var warnings: [String] = []
        /// Warnings about single lookups (non-UTF-8 keys, empty results).
        var lookupWarnings: [String] = []
        var fatal: String?

        var description: String { "found \(found.count), warnings \(warnings), fatal \(fatal ?? "none")" }
    }

    /// `postmap -q - spec` with `keys` on its standard input, one a line.
    private func stockAnswers(_ spec: String, keys: [[UInt8]]) throws -> StockAnswers {
        let input = dir + "/keys", output = dir + "/out", errors = dir + "/err"
        XCTAssertTrue(FileManager.default.createFile(atPath: input, contents: Data(keys.flatMap { $0 + [0x0A] })))
        XCTAssertTrue(FileManager.default.createFile(atPath: output, contents: nil))
        XCTAssertTrue(FileManager.default.createFile(atPath: errors, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: postmap)
        process.arguments = ["-c", dir, "-q", "-", spec]
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        try process.run()
        process.waitUntilExit()
        var answers = StockAnswers()
        let out = try Data(contentsOf: URL(fileURLWithPath: output))
        for line in [UInt8](out).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            let key = line.prefix { $0 != 0x09 }
            answers.found[Array(key)] = Array(line[key.endIndex...].dropFirst())
        }
        let err = String(decoding: try Data(contentsOf: URL(fileURLWithPath: errors)), as: UTF8.self)
        for line in err.split(separator: "\n").map(String.init) {
            if line.hasPrefix("postmap: fatal: ") {
                answers.fatal = String(line.dropFirst(16))
            } else if line.hasPrefix("postmap: warning: ") {
                let text = String(line.dropFirst(18))
                let perLookup = text.contains(": non-UTF-8 key \"") || text.contains("empty string result is not allowed")
                    || text.contains("should return NO RESULT")
                if perLookup { answers.lookupWarnings.append(text) } else { answers.warnings.append(text) }
            } else {
                XCTFail("unexpected postmap output: \(line)")
            }
        }
        return answers
    }

    /// Our table answers every key as stock does, warned as stock did while
    /// it was read, and warns as stock's UTF-8 layer does about the keys it skips.
    private func assertOursAnswer(_ spec: String, keys: [[UInt8]], as stock: StockAnswers, dump: LocalTable.Dump? = nil,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNil(stock.fatal, "stock refused \(spec)", file: file, line: line)
        let opened = try XCTUnwrap(LocalTable.open(spec, dump: dump), "\(spec) must be local", file: file, line: line)
        XCTAssertEqual(opened.notices.filter { $0.level != .warning }, [], spec, file: file, line: line)
        XCTAssertEqual(opened.notices.map(\.text), stock.warnings, "warnings while reading \(spec)", file: file, line: line)
        var lookupWarnings: [String] = []
        for key in keys {
            let shown = String(decoding: key, as: UTF8.self)
            let expected = stock.found[key].map { String(decoding: $0, as: UTF8.self) }
            switch opened.table.lookup(key, warn: { lookupWarnings.append($0) }) {
            case .found(let value):
                XCTAssertEqual(String(decoding: value, as: UTF8.self), expected, "\(spec): key \"\(shown)\"", file: file, line: line)
                XCTAssertEqual(value, stock.found[key], "\(spec): key \"\(shown)\" (bytes)", file: file, line: line)
            case .notFound:
                XCTAssertNil(expected, "\(spec): key \"\(shown)\" not found here", file: file, line: line)
            case .failed(let detail):
                XCTFail("\(spec): key \"\(shown)\": lookup error \(detail ?? "")", file: file, line: line)
            }
        }
        // postmap's own checks of a result ("empty string result ...") are not the table's.
        XCTAssertEqual(lookupWarnings, stock.lookupWarnings.filter { $0.contains(": non-UTF-8 key \"") },
                       "\(spec): warnings about single lookups", file: file, line: line)
    }

    /// Stock cannot open `spec` (postmap: fatal, with the reason); here it
    /// is an error notice with the same reason, and every lookup fails.
    private func assertUnavailableAsStock(_ spec: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let stock = try stockAnswers(spec, keys: [Array("1.2.3.4".utf8)])
        let reason = try XCTUnwrap(stock.fatal, "stock opened \(spec)", file: file, line: line)
        let opened = try XCTUnwrap(LocalTable.open(spec, dump: nil), "\(spec) must be local", file: file, line: line)
        XCTAssertEqual(opened.notices, [TableNotice(.error, reason)], spec, file: file, line: line)
        guard case .failed(let detail) = opened.table.lookup(Array("1.2.3.4".utf8)) else {
            return XCTFail("\(spec): lookups must fail", file: file, line: line)
        }
        XCTAssertEqual(detail, "\(spec) is unavailable. \(reason)", file: file, line: line)
    }

    @discardableResult
    private func write(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        return path
    }
}
