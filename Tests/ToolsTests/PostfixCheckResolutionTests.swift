// `postfix check`, beyond stock: one line per master.cf service saying
// whether its command is a plugin ($plugin_directory/<command>.so or .la) or
// an executable ($daemon_directory/<command>), and warnings when a plugin
// file or its directory is not root-owned or is group/world writable, in the
// master's words ("plugin X refused: ..."), from the master's own check. The
// plugin is the real echo plugin built with this package, installed as
// $daemon_directory/echo.so. Stock's own check lines are unchanged (compared
// with stock postfix on the same instance, our extra lines removed).
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PostfixCheckResolutionTests: XCTestCase {
    func testCheckSaysPluginOrExecutableAndWarnsAboutUnsafePlugins() throws {
        let plugin = Tools.productsDir + "/libecho.so"
        guard try Tools.require([Tools.postfix, Tools.stockPostfix, "/usr/bin/script"], root: true) else { return }
        XCTAssertTrue(FileManager.default.fileExists(atPath: plugin), "\(plugin) missing: swift build")
        let instance = try scratchDir("pfchk")
        defer { try? FileManager.default.removeItem(atPath: instance) }
        let made = try runTool(Tools.packageRoot + "/contrib/make-instance", [instance], timeout: 120)
        XCTAssertEqual(made.status, 0, made.stderr)
        let libexec = instance + "/libexec", port = try freeLoopbackPort()
        try FileManager.default.copyItem(atPath: plugin, toPath: libexec + "/echo.so")
        chown(libexec + "/echo.so", 0, 0); chmod(libexec + "/echo.so", 0o755)
        let masterCf = instance + "/etc/master.cf"
        let text = try String(contentsOfFile: masterCf, encoding: .utf8)
        try writeFile(masterCf, text + "127.0.0.1:\(port) inet n - n - - echo\n")

        func check(_ tool: String) throws -> (Int32, [String]) {
            let r = try runTool("/usr/bin/script", ["-qec", "\(tool) -c \(instance)/etc check", "/dev/null"], timeout: 120)
            return (r.status, r.stdout.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init))
        }
        let isOurs = { (l: String) in l.range(of: #"^postfix/postfix-script: (warning: \S+: line [0-9]+: )?service \S+: command "#, options: .regularExpression) != nil }
        var (status, lines) = try check(Tools.postfix)
        XCTAssertEqual(status, 0, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("postfix/postfix-script: service 127.0.0.1:\(port)/inet: command echo: plugin \(libexec)/echo.so"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("postfix/postfix-script: service pickup/unix: command pickup: executable \(libexec)/pickup"))
        XCTAssertTrue(lines.contains("postfix/postfix-script: service rewrite/unix: command trivial-rewrite: executable \(libexec)/trivial-rewrite"))
        let services = try runTool("/usr/sbin/postconf", ["-c", instance + "/etc", "-M"]).stdout.split(separator: "\n").count
        XCTAssertEqual(lines.filter(isOurs).count, services, "one line per master.cf service")
        XCTAssertFalse(lines.contains { $0.contains("warning") && $0.contains("echo") }, "a sound plugin draws no warning")
        let stock = try check(Tools.stockPostfix)
        XCTAssertEqual(stock.0, status)
        XCTAssertEqual(lines.filter { !isOurs($0) }, stock.1, "stock's own check output unchanged")

        // Unsafe plugin file, then unsafe plugin directory.
        chmod(libexec + "/echo.so", 0o775)
        chown(libexec + "/echo.so", 65534, 0)
        (status, lines) = try check(Tools.postfix)
        XCTAssertEqual(status, 0)
        let prefix = "postfix/postfix-script: warning: \(masterCf): line "
        XCTAssertTrue(lines.contains { $0.hasPrefix(prefix) && $0.hasSuffix("service 127.0.0.1:\(port)/inet: command echo: plugin \(libexec)/echo.so refused: \(libexec)/echo.so is not owned by root") }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix(prefix) && $0.hasSuffix("command echo: plugin \(libexec)/echo.so refused: \(libexec)/echo.so is group or world writable") }, lines.joined(separator: "\n"))
        chown(libexec + "/echo.so", 0, 0); chmod(libexec + "/echo.so", 0o755)
        chmod(libexec, 0o777)
        defer { chmod(libexec, 0o755) }
        (status, lines) = try check(Tools.postfix)
        XCTAssertTrue(lines.contains { $0.hasSuffix("command echo: plugin \(libexec)/echo.so refused: \(libexec) is group or world writable") }, lines.joined(separator: "\n"))
        XCTAssertFalse(lines.contains { $0.hasSuffix("echo.so is group or world writable") })
    }
}
