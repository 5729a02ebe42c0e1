// Compares MainConfig raw and expanded values with the stock postconf(1)
// (`postconf -c DIR -h` and `-xh`) for many expansion forms.

import XCTest
@testable import PostfixConfig

final class StockExpansionComparisonTests: XCTestCase {
    /// Helper parameters the expressions refer to.
    static let helpers: [(String, String)] = [
        ("x", "1"), ("e", ""), ("y", "hello world"), ("n", "10"), ("m", "9"),
        ("c1", "$c2-one"), ("c2", "${c3}-two"), ("c3", "three"),
        ("brace", "{a b}"), ("dollar", "$$HOME"),
    ]

    /// Expressions assigned to t0, t1, ... and compared after expansion.
    static let expressions: [String] = [
        "$x", "${x}", "$(x)", "$$x", "a$$", "$$", "${x?yes}", "${x:no}", "${e?yes}", "${e:no}",
        "${undef?yes}", "${undef:no}", "${x?{yes}:{no}}", "${e?{yes}:{no}}", "[${x? v}]",
        "${x??foo:{b}ar}", "${x?{a}:b c}", "${e?{a}:b c}", "${x ? {a} : {b}}", "${e ? {a} : {b}}",
        "${{10} < {9}}", "${{10} > {9}}", "${{a} == {a}}", "${{$n} > {$m}?{big}:{small}}",
        "${{abc} < {abd}?{lt}}", "${{x} != {y}:{same}}", "${{1} == {01}}", "${{ 1} == {1}}",
        "${{3.6} <=level {3.10}?{ok}:{no}}", "${{2} >level {10}?{gt}:{le}}",
        "${x?$y}", "${x?${y}}", "$y-$x", "${x?{${e:{nested}}}}", "$mail_version",
        "$syslog_name", "${queue_directory}/pid", "{literal braces}", "$x$x$(x)${x}",
        "text with # hash", "x$undefined_zzz end", "${x:{a}}", "${e:{a}}", "$(x?yes)", "$(e:no)",
        "${ x }", "${x ?yes}", "$config_directory", "$default_process_limit", "$daemon_directory",
        "$c1", "${c1?{$c2}}", "$brace", "$dollar", "${x?$dollar}", "$x.$y.$e.",
        "${x?{a}:{b}}${e?{c}:{d}}", "pre${x}post", "${x:}", "${x?}", "${e?}", "$myorigin",
        "$x{y}", "${x}{y}", "${{$x} == {1}}", "${{} == {}}", "${{$e} == {}?{empty}}",
        "$(x)$(e)$(y)", "$y$$$x", "${x?{{inner}}}", "${x?a{b}c}", "$multi_instance_name:",
        "$inet_interfaces $inet_protocols", "$mail_owner:$setgid_group",
    ]

    func testExpandedValuesMatchStock() throws {
        guard StockPostconf.available() else { return }
        let names = Self.expressions.indices.map { "t\($0)" }
        var text = "notify_classes = resource software " + names.map { "$" + $0 }.joined(separator: " ") + "\n"
        for (name, value) in Self.helpers { text += "\(name) = \(value)\n" }
        for (name, value) in zip(names, Self.expressions) { text += "\(name) = \(value)\n" }
        let scratch = try ScratchConfig(main: text)
        let ours = try MainConfig.load(configDirectory: scratch.directory)

        let expanded = try StockPostconf.run(scratch, ["-xh"] + names)
        XCTAssertEqual(expanded.status, 0, expanded.stderr)
        let stockLines = expanded.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(stockLines.count, names.count + 1, "postconf output: \(expanded.stdout)")
        for (i, name) in names.enumerated() where i < stockLines.count {
            XCTAssertEqual(try ours.value(name), stockLines[i], "expression \(Self.expressions[i])")
        }

        let raw = try StockPostconf.run(scratch, ["-h"] + names)
        XCTAssertEqual(raw.status, 0, raw.stderr)
        let rawLines = raw.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(rawLines.count, names.count + 1, "postconf -h output: \(raw.stdout)")
        for (i, name) in names.enumerated() where i < rawLines.count {
            XCTAssertEqual(ours.rawValue(name), rawLines[i])
        }
    }

    /// Defaults (no main.cf setting) expand like stock, including the
    /// computed host-name defaults.
    func testDefaultsMatchStock() throws {
        guard StockPostconf.available() else { return }
        let names = ["config_directory", "command_directory", "daemon_directory", "data_directory",
                     "queue_directory", "meta_directory", "shlib_directory", "mail_owner", "setgid_group",
                     "default_process_limit", "service_throttle_time", "max_idle", "max_use",
                     "process_id_directory", "syslog_name", "syslog_facility", "maillog_file",
                     "maillog_file_prefixes", "postlog_service_name", "import_environment",
                     "export_environment", "inet_interfaces", "inet_protocols", "master_service_disable",
                     "debugger_command", "compatibility_level", "known_tcp_ports", "myhostname", "mydomain",
                     "myorigin", "multi_instance_name", "multi_instance_group", "multi_instance_enable",
                     "multi_instance_directories", "multi_instance_wrapper", "alternate_config_directories",
                     "mail_version", "daemon_timeout", "ipc_timeout", "in_flow_delay", "sendmail_path",
                     "newaliases_path", "mailq_path", "manpage_directory", "sample_directory",
                     "readme_directory", "html_directory", "mydestination", "smtpd_banner", "mail_name",
                     "relay_domains"]
        let scratch = try ScratchConfig(main: "")
        let ours = try MainConfig.load(configDirectory: scratch.directory)
        let expanded = try StockPostconf.run(scratch, ["-xh"] + names)
        XCTAssertEqual(expanded.status, 0, expanded.stderr)
        let lines = expanded.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, names.count + 1)
        for (i, name) in names.enumerated() where i < lines.count {
            XCTAssertEqual(try ours.value(name), lines[i], name)
        }
        // Raw defaults, as `postconf -d` prints them.
        let defaults = try StockPostconf.run(scratch, ["-dh"] + names)
        XCTAssertEqual(defaults.status, 0, defaults.stderr)
        let raw = defaults.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(raw.count, names.count + 1, "postconf -dh output: \(defaults.stdout)")
        for (i, name) in names.enumerated() where i < raw.count && name != "config_directory" {
            XCTAssertEqual(ParameterDefaults.value(name), raw[i], name)
        }
    }

    /// mydomain in main.cf completes a dot-less host name; myhostname in
    /// main.cf determines mydomain.
    func testComputedHostnameDefaultsMatchStock() throws {
        guard StockPostconf.available() else { return }
        for text in ["mydomain = example.org\n", "myhostname = mail.example.net\n",
                     "myhostname = $mydomain\nmydomain = d.example\n",
                     "mydomain = $myhostname\n", ""] {
            let scratch = try ScratchConfig(main: text)
            let ours = try MainConfig.load(configDirectory: scratch.directory)
            let stock = try StockPostconf.run(scratch, ["-xh", "myhostname", "mydomain", "myorigin"])
            let lines = stock.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines, [try ours.value("myhostname"), try ours.value("mydomain"),
                                   try ours.value("myorigin")], text)
        }
    }

    /// Warnings from loading main.cf (duplicates, config_directory preset,
    /// orphan continuation) are the ones stock prints.
    func testLoadWarningsMatchStock() throws {
        guard StockPostconf.available() else { return }
        let scratch = try ScratchConfig(main: "  orphan\nconfig_directory = /elsewhere\nrelayhost = a\nrelayhost = b\nrelayhost = b\n")
        let ours = try MainConfig.load(configDirectory: scratch.directory + "/")
        let stock = try ProcessRunner.run(StockPostconf.path, ["-c", scratch.directory + "/", "-h", "relayhost"])
        XCTAssertEqual(stock.stdout, "b\n")
        let stockWarnings = stock.stderr.split(separator: "\n").map(String.init)
            .filter { !$0.contains("master.cf") }
            .map { $0.replacingOccurrences(of: "/usr/sbin/postconf: warning: ", with: "")
                     .replacingOccurrences(of: "postconf: warning: ", with: "") }
        // postconf reads main.cf more than once; its first pass is the one
        // that corresponds to a single load.
        XCTAssertEqual(ours.warnings, Array(stockWarnings.prefix(ours.warnings.count)))
        XCTAssertEqual(ours.warnings.count, 3)
    }

    /// Broken expressions: our error warning is the one stock prints.
    func testExpansionErrorsMatchStockWarnings() throws {
        guard StockPostconf.available() else { return }
        let broken = ["$p", "a$", "${x", "${x?{a}b}", "${a b}", "${{a} ~ {b}}", "${x?{a}",
                      "${{a} == b}", "${{a}=={b}x}", "${e:{a}b}", "${{a} ==x {b}}", "$()"]
        for (i, expression) in broken.enumerated() {
            let text = "notify_classes = $t\nt = \(expression)\np = $p\nx = 1\ne =\n"
            let scratch = try ScratchConfig(main: text)
            let ours = try MainConfig.load(configDirectory: scratch.directory)
            let stock = try StockPostconf.run(scratch, ["-xh", "t"])
            do {
                _ = try ours.value("t")
                XCTFail("case \(i) \(expression): expected an error; stock said \(stock.stderr)")
            } catch let error as ConfigError {
                XCTAssertEqual(error.warnings.count, 1)
                let warning = "postconf: warning: " + (error.warnings.first ?? "")
                XCTAssertTrue(stock.stderr.contains(warning),
                              "case \(expression): ours \(warning) / stock \(stock.stderr)")
            }
        }
    }
}
