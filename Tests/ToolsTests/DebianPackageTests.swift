// The Debian package (contrib/make-deb, contrib/debian): what it contains,
// and a stock system switched over to it and back. The switch-over runs the
// system Postfix through Tests/debian/switch-over inside `unshare -m -n`: the
// script's own overlays over /usr, /etc and /var (dpkg's database included)
// and its own loopback, so the machine's files, dpkg database and port 25 are
// never touched; the test checks that too. The package is built from
// $MAILHOST_DEB_BUILD_DIR (.ci/run's release phase: the release build, as
// shipped) or else from the debug products, whose Swift runtime is the
// toolchain's (make-deb -T: fine on this machine only).
// Missing prerequisites (root, dpkg-deb, unshare, ip, overlay mounts) fail.
import Foundation
import XCTest
import TestSupport

final class DebianPackageTests: XCTestCase {
    static let productionPlugins: Set = ["spawn", "qmgr", "metrics", "pickup", "flush"]
    static let testPlugins: Set = ["echo", "trap", "probe"]
    static let tools = ["postfix", "postmulti", "postconf"]
    static let master = "/usr/lib/postfix/sbin/master"
    static let diversion = "diversion of /usr/lib/postfix/sbin/master to /usr/lib/postfix/sbin/master.postfix by mailhost"

    /// The products packaged, and whether they may link the toolchain's runtime.
    static var buildDir: (path: String, isTestBuild: Bool) {
        if let dir = ProcessInfo.processInfo.environment["MAILHOST_DEB_BUILD_DIR"], !dir.isEmpty {
            return (dir, false)
        }
        return (Tools.productsDir, true)
    }

    /// Throws, naming what is missing, unless everything the package tests run is here.
    func requirePrerequisites() throws {
        guard geteuid() == 0 else { throw ToolError("DebianPackageTests need root (dpkg, unshare, mounts)") }
        let programs = ["/usr/bin/dpkg-deb", "/usr/bin/dpkg-divert", "/usr/bin/dpkg-query", "/usr/bin/unshare",
                        "/usr/sbin/ip", "/usr/sbin/useradd", "/usr/bin/nm", "/usr/sbin/postfix",
                        Self.buildDir.path + "/master"] + Self.tools.map { Self.buildDir.path + "/" + $0 }
        for program in programs where !FileManager.default.isExecutableFile(atPath: program) {
            throw ToolError("\(program) missing: DebianPackageTests need dpkg, util-linux, iproute2, passwd, binutils, postfix and the built products")
        }
    }

    /// The package, built once for the class (make-deb compresses some 100 MB
    /// of debug products for half a minute), in a directory removed at class tearDown.
    nonisolated(unsafe) static var builtDeb: String?

    /// The package's path, building it on first use.
    func deb() throws -> String {
        if let deb = Self.builtDeb { return deb }
        let dir = try scratchDir("deb-build")
        let build = Self.buildDir
        let r = try runTool(Tools.packageRoot + "/contrib/make-deb",
                            ["-b", build.path, "-o", dir, "-V", "0.0~test"] + (build.isTestBuild ? ["-T"] : []),
                            timeout: 300)
        guard r.status == 0 else { throw ToolError("make-deb failed (\(r.status)): \(r.stderr)") }
        let deb = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard deb.hasPrefix(dir + "/"), FileManager.default.fileExists(atPath: deb) else {
            throw ToolError("make-deb printed '\(deb)', not a file in \(dir)")
        }
        Self.builtDeb = deb
        return deb
    }

    override class func tearDown() {
        if let deb = builtDeb {
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: deb).deletingLastPathComponent().path)
        }
        builtDeb = nil
        super.tearDown()
    }

    /// The plugins Package.swift declares (its .library(..., type: .dynamic) products).
    func declaredPlugins() throws -> Set<String> {
        let manifest = try String(contentsOfFile: Tools.packageRoot + "/Package.swift", encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.library\(name: "([^"]+)", type: \.dynamic"#)
        let range = NSRange(manifest.startIndex..., in: manifest)
        return Set(pattern.matches(in: manifest, range: range).compactMap {
            Range($0.range(at: 1), in: manifest).map { String(manifest[$0]) }
        })
    }

    func testPackageContentsReplaceOnlyTheDivertedMaster() throws {
        try requirePrerequisites()
        let dir = try scratchDir("deb-contents")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let deb = try deb()

        let contents = try runTool("/usr/bin/dpkg-deb", ["-c", deb])
        let files = contents.stdout.split(separator: "\n").filter { $0.hasPrefix("-") }.map { line -> String in
            String(line.split(separator: " ").last ?? "").replacingOccurrences(of: "./", with: "/", options: .anchored)
        }
        let plugins = try declaredPlugins().intersection(Self.productionPlugins)
        XCTAssertTrue(plugins.contains("spawn"), "Package.swift declares spawn")
        let expected = Set([Self.master] + plugins.map { "/usr/lib/postfix/sbin/\($0).so" }
                           + Self.tools.map { "/usr/lib/mailhost/bin/" + $0 })
        XCTAssertEqual(Set(files), expected, "the package's files")
        for plugin in Self.testPlugins {
            XCTAssertFalse(files.contains { $0.hasSuffix("/\(plugin).so") }, "test plugin \(plugin) is not packaged")
        }

        // Nothing in the command search path; nothing another package owns but the diverted master.
        for file in files {
            let parent = URL(fileURLWithPath: file).deletingLastPathComponent().path
            XCTAssertFalse(InstallLayoutTests.searchPath.contains(parent), "\(file) is in the command search path")
            let owner = try runTool("/usr/bin/dpkg-query", ["-S", file])
            if file == Self.master {
                XCTAssertTrue(owner.stdout.hasPrefix("postfix: "), "stock master belongs to postfix: \(owner.stdout)")
            } else {
                XCTAssertNotEqual(owner.status, 0, "\(file) belongs to \(owner.stdout)")
            }
        }

        // The packaged files are the build's.
        let extract = dir + "/root"
        XCTAssertEqual(try runTool("/usr/bin/dpkg-deb", ["-x", deb, extract]).status, 0)
        XCTAssertEqual(readFile(extract + Self.master), readFile(Self.buildDir.path + "/master"), "packaged master")
        for plugin in plugins {
            XCTAssertEqual(readFile(extract + "/usr/lib/postfix/sbin/\(plugin).so"),
                           readFile(Self.buildDir.path + "/lib\(plugin).so"), "packaged \(plugin).so")
        }
        for tool in Self.tools {
            XCTAssertEqual(readFile(extract + "/usr/lib/mailhost/bin/" + tool), readFile(Self.buildDir.path + "/" + tool),
                           "packaged \(tool)")
        }

        let depends = try runTool("/usr/bin/dpkg-deb", ["-f", deb, "Depends"]).stdout
        XCTAssertTrue(depends.hasPrefix("postfix (>= 3.7), libltdl7"), depends)
        let control = dir + "/control"
        XCTAssertEqual(try runTool("/usr/bin/dpkg-deb", ["-e", deb, control]).status, 0)
        for script in ["preinst", "postinst", "postrm"] {
            let text = (try? String(contentsOfFile: control + "/" + script, encoding: .utf8)) ?? ""
            XCTAssertTrue(text.hasPrefix("#!/bin/sh") && text.contains("\nset -e\n"), "\(script): set -e shell script")
            XCTAssertFalse(text.contains("#MAILHOST_RESTART#"), "\(script): placeholder replaced")
        }
        let md5 = try runTool("/usr/bin/md5sum", ["-c", control + "/md5sums"], cwd: extract)
        XCTAssertEqual(md5.status, 0, "md5sums match the files: \(md5.stdout) \(md5.stderr)")
    }

    /// The machine's own state the switch-over must leave alone.
    func machineState() throws -> String {
        let stat = try runTool("/usr/bin/stat", ["-c", "%n %i %s %Y", Self.master, "/usr/lib/postfix/sbin",
                                                  "/etc/postfix/master.cf", "/var/lib/dpkg/status", "/var/lib/dpkg/diversions"])
        let divert = try runTool("/usr/bin/dpkg-divert", ["--list", Self.master])
        let installed = try runTool("/usr/bin/dpkg-query", ["-W", "mailhost"])
        return stat.stdout + divert.stdout + "mailhost installed: \(installed.status == 0)\n"
            + "mailhost tools: \(FileManager.default.fileExists(atPath: "/usr/lib/mailhost/bin"))"
    }

    /// What Tests/debian/switch-over must record, in its order: (fact, value, why).
    /// `stock` is the stock master's md5 from dpkg's postfix.md5sums.
    static func expectedFacts(stock: String) -> [(String, String, String)] {
        let diversion = Self.diversion
        return [
            ("stock.md5", stock, "the stock master is the package's"),
            ("stock.running", "stock", "stock Postfix starts"),
            ("delivered.stock", "yes", "mail flows with stock"),
            ("spawn.stock", "switch-over-spawn", "the stock spawn daemon answers"),
            ("spawn.stock.worker_gone", "yes", "max_use=1 ends stock spawn after its client"),
            ("install.rc", "0", "dpkg -i"),
            ("install.status", "install ok installed", "dpkg -i"),
            ("install.diversion", diversion, "preinst diverts the stock master"),
            ("install.master", "ours", "/usr/lib/postfix/sbin/master is ours"),
            ("install.diverted.md5", stock, "the stock master is kept as master.postfix"),
            ("install.running", "ours", "postinst restarted the running Postfix with our master"),
            ("delivered.installed", "yes", "mail flows with our master"),
            ("spawn.installed", "switch-over-spawn", "the spawn plugin answers"),
            ("spawn.installed.worker_gone", "yes", "max_use=1 ends our spawn plugin's worker after its client"),
            ("tools.status", "0", "/usr/lib/mailhost/bin/postfix status"),
            ("tools.path", "/usr/sbin/postfix /usr/sbin/postconf /usr/sbin/postmulti", "stock tools still come first"),
            ("reload.rc", "0", "postfix reload"),
            ("reload.same_pid", "yes", "reload keeps the master"),
            ("reload.running", "ours", "after reload"),
            ("delivered.reloaded", "yes", "mail flows after reload"),
            ("installed.stop", "0", "postfix stop of our master"),
            ("installed.stopped", "none", "postfix stop ends our master"),
            ("installed.start", "0", "postfix start"),
            ("installed.running", "ours", "postfix start runs our master"),
            ("delivered.restarted", "yes", "mail flows after postfix start"),
            ("reinstall.rc", "0", "dpkg -i again, restart denied by policy-rc.d: not an error"),
            ("reinstall.notice", "1", "postinst says Postfix was not restarted"),
            ("reinstall.same_pid", "yes", "policy-rc.d's denial is obeyed"),
            ("reinstall.running", "ours", "still our master"),
            ("reinstall.diversion", diversion, "one diversion, unchanged"),
            ("remove.rc", "0", "dpkg -r"),
            ("remove.status", "deinstall ok config-files", "dpkg -r"),
            ("remove.diversion", "", "postrm removes the diversion"),
            ("remove.md5", stock, "the stock master is back at its path"),
            ("remove.diverted_left", "no", "no master.postfix left"),
            ("remove.running", "stock", "postrm restarted the running Postfix with the stock master"),
            ("delivered.removed", "yes", "mail flows with the stock master again"),
            ("spawn.removed", "switch-over-spawn", "the stock spawn daemon answers again"),
            ("spawn.removed.worker_gone", "yes", "max_use=1 ends stock spawn after its client"),
            ("removed.stop", "0", "postfix stop"),
            ("purge.rc", "0", "dpkg -P"),
            ("purge.status", "dpkg-query: no packages found matching mailhost", "purged"),
            ("purge.diversion", "", "no diversion"),
            ("purge.md5", stock, "the stock master"),
            ("purge.leftovers", "", "no file of ours left"),
            ("purged.start", "0", "postfix start after purge"),
            ("purged.running", "stock", "the stock master runs"),
            ("delivered.purged", "yes", "mail flows after purge"),
            ("purged.stop", "0", "postfix stop"),
        ]
    }

    func testStockSystemSwitchesOverAndBack() throws {
        try requirePrerequisites()
        let dir = try scratchDir("deb-switch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let deb = try deb()
        let before = try machineState()

        let r = try runTool("/usr/bin/unshare", ["-m", "-n", "--propagation", "private", "/bin/bash",
                                                 Tools.packageRoot + "/Tests/debian/switch-over",
                                                 deb, Self.buildDir.path + "/master", dir], timeout: 900)
        let log = (try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? ""
        let maillog = (try? String(contentsOfFile: dir + "/postfix.log", encoding: .utf8)) ?? ""
        guard r.status == 0 else {
            throw ToolError("switch-over exited \(r.status) (90-93: tmpfs, overlay, /run or loopback setup failed;"
                            + " 94-96: Postfix setup failed): \(r.stderr)\n\(log)")
        }
        XCTAssertEqual(try machineState(), before, "the machine's own master, dpkg database and diversions are untouched")

        var facts: [String: String] = [:]
        let factsText = (try? String(contentsOfFile: dir + "/facts", encoding: .utf8)) ?? ""
        for line in factsText.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            facts[String(parts[0])] = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : ""
        }
        func check(_ key: String, _ expected: String, _ why: String) {
            XCTAssertEqual(facts[key], expected, "\(key): \(why)\n--- log\n\(log)\n--- maillog\n\(maillog)")
        }
        check("done", "yes", "the script ran to its end")
        let stock = facts["stock.md5sums"] ?? ""
        XCTAssertEqual(stock.count, 32, "postfix.md5sums names the stock master")
        for (key, expected, why) in Self.expectedFacts(stock: stock) {
            check(key, expected, why)
        }
        // Every packaged plugin that master.cf names (spawn: the script's service;
        // qmgr, pickup, flush: stock master.cf) resolved to our plugin at start,
        // reload and start, and none after the package is gone.
        let packaged = try declaredPlugins().intersection(Self.productionPlugins)
        check("plugins", packaged.sorted().joined(separator: " "), "the packaged plugins")
        for name in packaged {
            let resolved = facts["plugin.\(name).installed"] ?? ""
            if name != "metrics" {
                XCTAssertGreaterThanOrEqual(Int(resolved) ?? 0, 3, "master.cf's \(name) resolved to our plugin\n\(maillog)")
            }
            check("plugin.\(name).end", resolved, "\(name): no plugin after the package is gone")
        }
    }
}
