// Compares our postconf with stock /usr/sbin/postconf on identical copies of
// the same files: edited files byte for byte, stdout text, exit status.
import Foundation
import XCTest
import TestSupport

final class PostconfComparisonTests: XCTestCase {
    /// A main.cf with comments, continuations, comments inside continued
    /// entries, duplicates, an indented orphan, no "=" spacing, $references.
    static let mainSample = """
    # comment at top
    myhostname = host.example
    relayhost = [127.0.0.1]:2525
       # inside
      continued   words
    mydomain=example

    alias_maps = hash:/etc/aliases,
    \thash:/etc/other
    myhostname = second.example
    mynetworks = 127.0.0.0/8 $extra_nets
    extra_nets = 10.0.0.0/8
    unknown_thing = 1
    relay_destination_concurrency_limit = 5
    empty_value =
    smtpd_banner = $myhostname ESMTP
    """ + "\n"

    static let cases: [[String]] = [
        ["-e", "myhostname = new.example", "brand_new=1", " smtpd_banner =  x  y  "],
        ["-e", "relayhost="],
        ["-e", "alias_maps = hash:/x", "alias_maps = hash:/y"],
        ["mynetworks=1.2.3.4"],
        ["-X", "myhostname", "alias_maps", "not_there"],
        ["-#", "relayhost", "alias_maps", "mydomain"],
        ["-e", "multi_instance_wrapper = ${command_directory}/postmulti -p --", "multi_instance_enable = yes"],
    ]

    func testEditsMatchStockByteForByte() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        for (index, args) in Self.cases.enumerated() {
            for sample in [Self.mainSample, String(Self.mainSample.dropLast()), ""] {
                let (stock, ours) = try pair("edit\(index)", main: sample)
                let s = try runTool(Tools.stockPostconf, ["-c", stock] + args)
                let o = try runTool(Tools.postconf, ["-c", ours] + args)
                XCTAssertEqual(o.status, s.status, "\(args)")
                XCTAssertEqual(o.stdout, s.stdout, "\(args)")
                // Stock appends new names in its randomly seeded hash order;
                // ours in request order. Several new names: the same entries
                // appended, in any order; every other byte identical.
                // (Without a main.cf both refuse the edit: no file on either side.)
                let appended = Self.appendedNames(args, to: sample)
                if appended.count > 1, let ourData = readFile(ours + "/main.cf"), let stockData = readFile(stock + "/main.cf") {
                    let o = String(decoding: ourData, as: UTF8.self), s = String(decoding: stockData, as: UTF8.self)
                    XCTAssertTrue(Self.sameUpToAppendedOrder(ours: o, stock: s, appended: appended),
                                  "\(args) on a sample of \(sample.count) bytes:\nstock:\n\(s)\nours:\n\(o)")
                    continue
                }
                XCTAssertEqual(readFile(ours + "/main.cf"), readFile(stock + "/main.cf"),
                               "main.cf differs after \(args) on sample of \(sample.count) bytes:\n"
                               + "stock:\n\(String(decoding: readFile(stock + "/main.cf") ?? Data(), as: UTF8.self))\n"
                               + "ours:\n\(String(decoding: readFile(ours + "/main.cf") ?? Data(), as: UTF8.self))")
                XCTAssertFalse(FileManager.default.fileExists(atPath: ours + "/main.cf.tmp"))
            }
        }
    }

    func testEditRefusesMissingMainCfLikeStock() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        let stock = try scratchDir("pcs"), ours = try scratchDir("pco")
        addTeardownBlock {
            try? FileManager.default.removeItem(atPath: stock)
            try? FileManager.default.removeItem(atPath: ours)
        }
        for (tail, args) in [("", ["-e", "a=1"]), ("", ["-X", "a"]), ("/nonexistent", ["-e", "a=1"])] {
            let s = try runTool(Tools.stockPostconf, ["-c", stock + tail] + args)
            let o = try runTool(Tools.postconf, ["-c", ours + tail] + args)
            XCTAssertEqual(o.status, 1)
            XCTAssertEqual(o.status, s.status)
            XCTAssertEqual(withoutProgram(o.stderr), withoutProgram(s.stderr).replacingOccurrences(of: stock, with: ours))
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ours), [])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stock), [])
        }
    }

    static let queries: [[String]] = [
        ["-n"], ["-nh"], ["-n", "-x"], ["-h", "myhostname", "mynetworks"], ["-x", "mynetworks", "relayhost"],
        ["myhostname", "nonsense_name", "extra_nets"], ["-n", "relayhost", "queue_directory"],
        ["-d", "mail_owner", "queue_directory", "multi_instance_wrapper", "compatibility_level"],
        ["-dh", "setgid_group"], ["-H", "relayhost"], ["-M"], ["-M", "smtp/inet", "postlog/unix-dgram"],
        ["-M", "smtp"], ["-M", "nosuch/unix"], ["-F"], ["-F", "relay/unix/command"], ["-P"], ["-P", "*/*/syslog_name"],
        ["-d", "-n"], ["-xh", "mydomain", "mydestination"],
    ]

    func testQueriesMatchStockOutput() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        let pair = PostconfPair(files: ["main.cf": Self.mainSample, "master.cf": try Self.protoMaster()])
        for (args, differences) in zip(Self.queries, try pair.differences(eachOf: Self.queries)) {
            XCTAssertEqual(differences, [], "postconf \(args):\n" + differences.joined(separator: "\n"))
        }
    }

    /// The full listing (plain, -d, -x, -dx, -f, -H), stdout and stderr, with two
    /// normalisations where the programs must differ: process_id is each
    /// process's own pid, and plugin_directory is this project's parameter,
    /// which stock does not have. Nothing else is left out: mynetworks, the
    /// per-service parameters of this master.cf and process_name included.
    func testFullListingMatchesStock() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        let (stock, ours) = try pair("full", main: Self.mainSample)
        for args in [[], ["-d"], ["-x"], ["-dx"], ["-f"], ["-H"]] {
            let s = try runTool(try Tools.stockPostconf, ["-c", stock] + args)
            let o = try runTool(Tools.postconf, ["-c", ours] + args)
            XCTAssertEqual(o.status, s.status, "\(args)")
            func normalized(_ text: String, dir: String, ours: Bool) -> [String] {
                text.replacingOccurrences(of: dir, with: "DIR").split(separator: "\n").compactMap { line in
                    if line.hasPrefix("process_id = ") { return "process_id = PID" }
                    if ours && line.hasPrefix("plugin_directory") { return nil }
                    return String(line)
                }
            }
            XCTAssertEqual(normalized(o.stdout, dir: ours, ours: true), normalized(s.stdout, dir: stock, ours: false), "\(args)")
            XCTAssertEqual(PostconfPair.normalized(o.stderr, dir: ours), PostconfPair.normalized(s.stderr, dir: stock), "\(args)")
            XCTAssertTrue(s.stdout.contains("mynetworks") && s.stdout.contains("process_name"), "\(args): \(s.stdout.prefix(200))")
        }
    }

    /// mynetworks' computed default (from this machine's interfaces, per
    /// mynetworks_style, inet_interfaces and inet_protocols) and stock's
    /// refusals, shown directly, with -d, and expanded into another value.
    static let mynetworksSettings = [
        "", "compatibility_level = 3.6", "mynetworks_style = host", "mynetworks_style = subnet", "mynetworks_style = class",
        "mynetworks_style = HOST", "mynetworks_style = bogus", "mynetworks_style = host subnet", "mynetworks_style =",
        "inet_protocols = ipv4", "inet_protocols = ipv6", "inet_protocols =", "inet_protocols = bogus",
        "inet_interfaces = loopback-only", "inet_interfaces = 127.0.0.1", "inet_interfaces = localhost, 127.0.0.1",
        "inet_interfaces = [::1]", "inet_interfaces = 10.255.255.1", "inet_interfaces = 127.0.0.1\nmynetworks_style = host",
        "compatibility_level = 3.6\ninet_interfaces = loopback-only\ninet_protocols = ipv4", "mynetworks = 10.0.0.0/8",
    ]

    func testMynetworksDefaultMatchesStock() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        let queries = [["mynetworks"], ["-d", "mynetworks"], ["-x", "smtpd_client_event_limit_exceptions"], ["-h", "mynetworks"]]
        for setting in Self.mynetworksSettings {
            let pair = PostconfPair(files: ["main.cf": setting + "\n", "master.cf": ""])
            for (args, differences) in zip(queries, try pair.differences(eachOf: queries)) {
                XCTAssertEqual(differences, [], "postconf \(args) with main.cf \"\(setting)\":\n" + differences.joined(separator: "\n"))
            }
        }
    }

    static func protoMaster() throws -> String {
        try String(contentsOfFile: "/etc/postfix/master.cf.proto", encoding: .utf8)
    }

    /// Names an edit (-e) sets that `sample` does not: postconf appends them.
    static func appendedNames(_ args: [String], to sample: String) -> [String] {
        guard args.first == "-e" else { return [] }
        let present = Set(sample.split(separator: "\n").compactMap { line -> String? in
            guard let first = line.first, first != "#", first != " ", first != "\t", let equals = line.firstIndex(of: "=") else { return nil }
            return line[..<equals].trimmingCharacters(in: .whitespaces)
        })
        var names: [String] = []
        for arg in args.dropFirst() {
            guard let equals = arg.firstIndex(of: "=") else { continue }
            let name = arg[..<equals].trimmingCharacters(in: .whitespaces)
            if !present.contains(name) && !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Ours ends with one "name = value" entry per appended name, in request
    /// order (after a last line without its newline, the first entry joins
    /// that line, as stock's does). Stock must have the very same bytes
    /// before those entries, and the same entries after them in some order.
    static func sameUpToAppendedOrder(ours: String, stock: String, appended names: [String]) -> Bool {
        guard let first = names.first, let start = ours.range(of: first + " = ", options: .backwards)?.lowerBound else {
            return false
        }
        let body = ours[..<start]
        let ourEntries = ours[start...].split(separator: "\n", omittingEmptySubsequences: false)
        guard ourEntries.last == "", ourEntries.dropLast().map({ $0.prefix { $0 != " " } }) == names.map({ Substring($0) }),
              stock.hasPrefix(body) else { return false }
        let stockEntries = stock.dropFirst(body.count).split(separator: "\n", omittingEmptySubsequences: false)
        return stockEntries.sorted() == ourEntries.sorted()
    }

    /// Two identical directories holding `main` and Debian's stock master.cf.
    func pair(_ tag: String, main: String) throws -> (String, String) {
        let stock = try scratchDir(tag + "-stock"), ours = try scratchDir(tag + "-ours")
        let master = try Self.protoMaster()
        for dir in [stock, ours] {
            if !main.isEmpty { try writeSettledFile(dir + "/main.cf", main) }
            try writeSettledFile(dir + "/master.cf", master)
        }
        addTeardownBlock {
            try? FileManager.default.removeItem(atPath: stock)
            try? FileManager.default.removeItem(atPath: ours)
        }
        return (stock, ours)
    }
}
