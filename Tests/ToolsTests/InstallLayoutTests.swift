// `make install` must never break a stock system: nothing it installs may
// replace a file of any Debian package or shadow a stock command in the
// command search path, and stock machinery that runs `postconf` (postfix tls,
// through $command_directory/postconf) must keep working once our tools are
// installed. The install runs through the real Makefile with the debug
// products already built (BIN=<products>, SWIFT=true: make's build step is a
// no-op); the end-to-end check runs `make install` for real inside a private
// mount namespace whose /usr, /etc, /var/spool and /var/lib are overlays, so
// the machine's own files are never written.
import Foundation
import XCTest
import TestSupport

final class InstallLayoutTests: XCTestCase {
    static let tools = ["postfix", "postmulti", "postconf"]

    /// `make install` with DESTDIR and the debug products; the make result.
    func makeInstall(destdir: String, _ extra: [String] = []) throws -> RunResult {
        try runTool("/usr/bin/make", ["-s", "-C", Tools.packageRoot, "install", "DESTDIR=" + destdir,
                                      "BIN=" + Tools.productsDir, "SWIFT=true"] + extra, timeout: 300)
    }

    /// Every file any installed package owns (dpkg's *.list files).
    func packageFiles() throws -> Set<String> {
        let dir = "/var/lib/dpkg/info"
        var files: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".list") {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            files.formUnion(text.split(separator: "\n").map(String.init))
        }
        XCTAssertTrue(files.contains(StockBinaries.postconfPath), "dpkg's lists name stock postconf")
        return files
    }

    /// The command search path: root's standard one and this process's $PATH, resolved.
    static var searchPath: Set<String> {
        let env = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            + env.split(separator: ":").map(String.init)
        return Set(dirs.filter { !$0.isEmpty }.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path })
    }

    func testMakeInstallReplacesAndShadowsNoPackageFile() throws {
        guard try Tools.require([Tools.postfix, Tools.postmulti, Tools.postconf, Tools.stockPostconf, "/usr/bin/make"]) else { return }
        let stage = try scratchDir("install")
        defer { try? FileManager.default.removeItem(atPath: stage) }
        let r = try makeInstall(destdir: stage)
        XCTAssertEqual(r.status, 0, "make install: \(r.stdout) \(r.stderr)")

        let owned = try packageFiles()
        let searchPath = Self.searchPath
        var installed: [String] = []
        let walker = FileManager.default.enumerator(atPath: stage)
        while let relative = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = stage + "/" + relative
            let isLink = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
            if !isLink && FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue {
                continue
            }
            let final = "/" + relative
            installed.append(final)
            XCTAssertFalse(owned.contains(final), "make install writes \(final), a file of an installed package")
            let dir = URL(fileURLWithPath: final).deletingLastPathComponent().path
            XCTAssertFalse(searchPath.contains(dir), "make install puts \(final) in the command search path")
        }
        for tool in Self.tools {
            let final = "/usr/lib/mailhost/bin/" + tool
            XCTAssertTrue(installed.contains(final), "\(final) installed: \(installed)")
            XCTAssertEqual(readFile(stage + final), readFile(Tools.productsDir + "/" + tool), "\(final) is our \(tool)")
        }
        XCTAssertTrue(installed.contains("/usr/lib/mailhost/sbin/master"), "\(installed)")
    }

    func testInstallRefusesTheSearchPathAndPackageFiles() throws {
        guard Tools.require([Tools.postfix, Tools.postmulti, Tools.postconf, "/usr/bin/make", "/usr/bin/dpkg-query"]) else { return }
        // /usr/sbin: in the search path (and stock's); /etc/init.d/postfix: a file of the postfix package.
        for (toolDir, reason) in [("/usr/sbin", "command search path"), ("/usr/local/bin", "command search path"),
                                  ("/etc/init.d", "a file of package postfix")] {
            let stage = try scratchDir("install-refused")
            defer { try? FileManager.default.removeItem(atPath: stage) }
            let r = try makeInstall(destdir: stage, ["TOOLDIR=" + toolDir])
            XCTAssertNotEqual(r.status, 0, "TOOLDIR=\(toolDir) is refused")
            XCTAssertTrue(r.stderr.contains("refusing") && r.stderr.contains(reason), "TOOLDIR=\(toolDir): \(r.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stage), [], "nothing written for TOOLDIR=\(toolDir)")
        }
    }

    /// Our postfix refuses `tls` when $command_directory/postconf cannot do
    /// `-T` (ours there, as the old make install left it), instead of letting
    /// postfix-tls-script report that TLS support is not compiled in.
    func testPostfixTlsRefusesACommandDirectoryWithoutStockPostconf() throws {
        guard Tools.require([Tools.postfix, Tools.postconf], root: true) else { return }
        let dir = try scratchDir("tls-cmddir")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for sub in ["etc", "bin", "queue", "data"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: Tools.postconf, toPath: dir + "/bin/postconf")
        let main = "command_directory = \(dir)/bin\nqueue_directory = \(dir)/queue\ndata_directory = \(dir)/data\n"
            + "maillog_file = /dev/stdout\n"
        try writeFile(dir + "/etc/main.cf", main)
        try writeFile(dir + "/etc/master.cf", "")
        let r = try runTool(Tools.postfix, ["-c", dir + "/etc", "tls", "enable-client"])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue((r.stdout + r.stderr).contains("fatal: \(dir)/bin/postconf cannot answer 'postconf -T'"), r.stdout + r.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/etc/main.cf", encoding: .utf8), main, "main.cf untouched")
    }

    // MARK: postfix tls with the tools installed (private namespace)

    /// Runs `postfix tls enable-client` on the namespace's default instance with
    /// stock postfix before anything is installed, then `make install` for real
    /// (into the /usr overlay), then the same command with our postfix from
    /// wherever make install put it (found in the overlay's upper layer).
    static let tlsDriver = Namespace.preamble + #"""

    mkdir -p $base/ov/usr-up $base/ov/usr-work
    mount -t overlay overlay -o lowerdir=/usr,upperdir=$base/ov/usr-up,workdir=$base/ov/usr-work /usr || exit 94
    root=$1 products=$2 out=$3
    cp -a /etc/postfix/main.cf $base/main.cf.template
    cp $base/main.cf.template $out/template.main.cf
    run() { # WHO POSTFIX: tls enable-client on the default instance, from the template
        cp $base/main.cf.template /etc/postfix/main.cf
        script -qec "$2 tls enable-client" /dev/null < /dev/null | tr -d '\r' > $out/$1.out
        echo "${PIPESTATUS[0]}" > $out/$1.rc
        cp /etc/postfix/main.cf $out/$1.main.cf
    }
    run stock /usr/sbin/postfix
    make -s -C "$root" install "BIN=$products" SWIFT=true > $out/install.out 2>&1 || { cat $out/install.out; exit 95; }
    ours=
    for f in $(cd $base/ov/usr-up && find . -name postfix -type f); do
        cmp -s "$base/ov/usr-up/$f" "$products/postfix" && ours=/usr/${f#./}
    done
    echo "$ours" > $out/ours.path
    [ -n "$ours" ] || exit 96
    run ours "$ours"
    umount /usr
    namespace_cleanup
    exit 0
    """#

    func testPostfixTlsWorksWithOurToolsInstalled() throws {
        guard try Tools.require([Tools.postfix, Tools.postmulti, Tools.postconf, Tools.stockPostfix,
                                 "/usr/bin/unshare", "/usr/bin/script", "/usr/bin/make"], root: true) else { return }
        let out = try scratchDir("install-tls")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let shared = ["/usr/sbin/postconf", "/usr/sbin/postfix", "/usr/sbin/postmulti", "/etc/postfix", "/usr/lib"]
        func realState() throws -> String {
            try runTool("/usr/bin/stat", ["-c", "%n %a %U %G %s %Y"] + shared).stdout
        }
        let before = try realState()
        try writeFile(out + "/driver.sh", Self.tlsDriver)
        let r = try runTool("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/bash", out + "/driver.sh",
                                                 Tools.packageRoot, Tools.productsDir, out], timeout: 300)
        XCTAssertEqual(r.status, 0, "driver: \(r.stdout) \(r.stderr)")
        XCTAssertEqual(try realState(), before, "the machine's own Postfix files are untouched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/usr/lib/mailhost"), "nothing installed outside the namespace")

        func text(_ name: String) -> String { (try? String(contentsOfFile: out + "/" + name, encoding: .utf8)) ?? "<missing \(name)>" }
        XCTAssertEqual(text("ours.path"), "/usr/lib/mailhost/bin/postfix\n", "where make install puts our postfix")
        XCTAssertEqual(text("stock.rc"), "0\n", "stock postfix tls enable-client: \(text("stock.out"))")
        XCTAssertEqual(text("ours.rc"), "0\n", "our installed postfix tls enable-client: \(text("ours.out"))")
        XCTAssertEqual(text("ours.out"), text("stock.out"), "output of postfix tls enable-client")
        let template = text("template.main.cf")
        XCTAssertTrue(text("stock.main.cf").hasPrefix(template) && text("ours.main.cf").hasPrefix(template),
                      "main.cf keeps its lines")
        // Stock postconf -e appends several new names in its randomly seeded hash
        // order (both runs use stock postconf), so the appended lines compare as sets.
        func appended(_ name: String) -> [Substring] { text(name).dropFirst(template.count).split(separator: "\n").sorted() }
        XCTAssertEqual(appended("ours.main.cf"), appended("stock.main.cf"), "settings postfix tls enable-client adds")
        XCTAssertTrue(text("ours.main.cf").contains("\nsmtp_tls_security_level = may\n"), text("ours.main.cf"))
    }
}
