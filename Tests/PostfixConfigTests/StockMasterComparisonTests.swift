// Compares MasterConfig parsing with the stock postconf(1): `postconf -M`
// for the eight fields, `postconf -F` per field, and `postconf -P` for the
// "-o" parameters of each service.

import XCTest
@testable import PostfixConfig

final class StockMasterComparisonTests: XCTestCase {
    static let master = """
    # a typical Debian master.cf, plus odd but valid forms
    smtp      inet  n       -       y       -       -       smtpd
    #submission inet n       -       y       -       -       smtpd
    submission inet n       -       y       -       -       smtpd
      -o syslog_name=postfix/submission
      -o smtpd_tls_security_level=encrypt
    # comment inside a continued entry
      -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
      -o smtpd_recipient_restrictions=
    127.0.0.1:10025 inet n  -       n       -       0       smtpd -o content_filter= -o {mynetworks = 127.0.0.0/8}
    [::1]:10026 inet n      -       n       -       1       smtpd
    :10027    inet  n       -       n       -       -       smtpd -o smtpd_banner=$myhostname
    pickup    unix  n       -       y       60      1       pickup
    cleanup   unix  n       -       y       -       0       cleanup
    qmgr      unix  n       -       n       300?    1       qmgr
    tlsmgr    unix  -       -       y       1000?   1       tlsmgr
    rewrite   unix  -       -       y       -       -       trivial-rewrite
    bounce    unix  -       -       y       -       0       bounce -o {bounce_notice_recipient = postmaster}
    showq     unix  n       -       y       -       -       showq
    postlog   unix-dgram n  -       n       -       1       postlogd
    flowq     fifo  n       -       n       -       -       pickup
    smtpd     pass  -       -       y       -       -       smtpd -o stress=
    maildrop  unix  -       n       n       -       -       pipe
      flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
    uucp      unix  -       n       n       -       -       pipe
      flags=Fqhu user=uucp argv=uux -r -n -z -a$sender - $nexthop!rmail ($recipient)
    custom    unix  n       y       n       5       7       local -v -o {a = b c} -o d=e
    """

    func testFieldsAndArgumentsMatchPostconfM() throws {
        guard StockPostconf.available() else { return }
        let scratch = try ScratchConfig(main: "compatibility_level = 3.6\n", master: Self.master)
        let main = try MainConfig.load(configDirectory: scratch.directory)
        let ours = try MasterConfig.load(configDirectory: scratch.directory, options: try MasterParseOptions(main: main))
        let stock = try StockPostconf.run(scratch, ["-M"])
        XCTAssertEqual(stock.status, 0, stock.stderr)
        let lines = stock.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, ours.entries.count)
        for (line, entry) in zip(lines, ours.entries) {
            let tokens = BraceTokenizer.tokens(line, separators: fieldSeparators)
            XCTAssertEqual(Array(tokens.prefix(8)), entry.fields, line)
            XCTAssertEqual(Self.normalized(tokens.dropFirst(8).map(Self.stripped)),
                           Self.normalized(entry.arguments), line)
        }
    }

    func testPerFieldValuesMatchPostconfF() throws {
        guard StockPostconf.available() else { return }
        let scratch = try ScratchConfig(main: "", master: Self.master)
        let ours = try MasterConfig.load(configDirectory: scratch.directory,
                                         options: try MasterParseOptions(main: try MainConfig.load(configDirectory: scratch.directory)))
        let stock = try StockPostconf.run(scratch, ["-F"])
        var stockValues: [String: String] = [:]
        for line in stock.stdout.split(separator: "\n") {
            guard let range = line.range(of: " = ") else {
                stockValues[String(line.dropLast(2))] = ""
                continue
            }
            stockValues[String(line[..<range.lowerBound])] = String(line[range.upperBound...])
        }
        // Every service stock lists, in its order, and no other.
        let stockServices = stock.stdout.split(separator: "\n").compactMap { line -> String? in
            line.range(of: "/command = ").map { String(line[..<$0.lowerBound]) }
        }
        XCTAssertEqual(ours.entries.map { $0.name + "/" + $0.type.rawValue }, stockServices)
        let labels = ["service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit"]
        for entry in ours.entries {
            let prefix = entry.name + "/" + entry.type.rawValue + "/"
            for (label, written) in zip(labels, entry.fields) {
                XCTAssertEqual(stockValues[prefix + label], written, prefix + label)
            }
            let command = stockValues[prefix + "command"] ?? ""
            XCTAssertEqual(command.split(separator: " ").first.map(String.init), entry.command, prefix)
        }
    }

    func testOverridesMatchPostconfP() throws {
        guard StockPostconf.available() else { return }
        let scratch = try ScratchConfig(main: "", master: Self.master)
        let ours = try MasterConfig.load(configDirectory: scratch.directory,
                                         options: try MasterParseOptions(main: try MainConfig.load(configDirectory: scratch.directory)))
        let stock = try StockPostconf.run(scratch, ["-P"])
        XCTAssertEqual(stock.status, 0, stock.stderr)
        let stockLines = stock.stdout.split(separator: "\n").map { String($0).trimmingSpace }
        var ourLines: [String] = []
        for entry in ours.entries {
            // postconf -P lists a service's parameters once each (the last
            // -o wins) sorted by name, services in master.cf order.
            var settings: [String: String] = [:]
            var iterator = entry.arguments.makeIterator()
            while let argument = iterator.next() {
                guard argument == "-o", let setting = iterator.next(),
                      let equals = setting.firstIndex(of: "=") else { continue }
                let name = setting[..<equals].trimmingCharacters(in: .whitespaces)
                settings[name] = setting[setting.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
            ourLines += settings.keys.sorted().map { name in
                "\(entry.name)/\(entry.type.rawValue)/\(name) = \(settings[name] ?? "")".trimmingSpace
            }
        }
        XCTAssertEqual(ourLines.count, 11, "every -o of the sample: \(ourLines)")
        XCTAssertEqual(ourLines, stockLines)
    }

    /// postconf -M prints brace groups without their braces (re-adding them
    /// only around text with blanks) and "-o name = value" as "-o name=value".
    static func stripped(_ token: String) -> String {
        (try? BraceGroup.strip(token).get()) ?? token
    }

    static func normalized(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var afterOption = false
        for argument in arguments {
            if afterOption, let equals = argument.firstIndex(of: "=") {
                let name = argument[..<equals].trimmingCharacters(in: .whitespaces)
                let value = argument[argument.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                result.append(name + "=" + value)
            } else {
                result.append(argument)
            }
            afterOption = argument == "-o"
        }
        return result
    }
}
