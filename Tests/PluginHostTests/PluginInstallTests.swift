// PluginInstallTests.swift - what plugin authors and administrators do:
// build contrib/example-plugin with its own Makefile and run it; and the
// ownership/mode rule for plugin files and their directory, re-checked at
// every reload (a fixed plugin starts serving without a restart).
import Foundation
import XCTest
import TestSupport
import Glibc

final class PluginInstallTests: PluginTestCase {
    func testExampleCPluginBuildsWithItsMakefileAndCounts() throws {
        let inst = try makeInstance()
        let example = TestEnv.packageRoot.appendingPathComponent("contrib/example-plugin").path
        let make = try runCommand("/usr/bin/make", ["-C", example, "-f", example + "/Makefile",
                                                    "ABI_INCLUDE=" + TestEnv.packageRoot.path + "/Sources/PluginAPI/CABI/include",
                                                    "counter.so"], timeout: 120)
        XCTAssertEqual(make.status, 0, "make: \(make.output)")
        let built = example + "/counter.so"
        defer { unlink(built) }
        let install = try runCommand("/usr/bin/install", ["-o", "root", "-g", "root", "-m", "0755", built,
                                                          inst.libexec + "/counter.so"], timeout: 30)
        XCTAssertEqual(install.status, 0, install.output)
        try inst.appendMasterCf("counter unix - n n - 1 counter -o counter_start=100")
        try inst.start()
        let fd = try XCTUnwrap(UnixSocket.connect(inst.socket("counter")))
        defer { close(fd) }
        XCTAssertTrue(Wire.exchange(fd, "hi\n").hasPrefix("count 101 (pid "), "first request")
        XCTAssertTrue(Wire.exchange(fd, "again\n").hasPrefix("count 102 (pid "), "second request, same process")
    }

    func testWritablePluginOrDirectoryIsRefusedUntilFixed() throws {
        let inst = try makeInstance()
        let plugins = inst.dir + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        let fixture = try inst.installFixture("single_echo")
        let plugin = plugins + "/single_echo.so"
        XCTAssertEqual(rename(fixture, plugin), 0)
        try inst.appendMainCf("plugin_directory = \(plugins)")
        try inst.appendMasterCf("fxecho unix - n n - - single_echo")

        chmod(plugins, 0o777)
        try inst.start()
        XCTAssertNotNil(inst.waitForLog("plugin \(plugin) refused: \(plugins) is group or world writable", timeout: 15))
        XCTAssertNotNil(inst.waitForLog("service \"fxecho\" (private/fxecho) disabled: its plugin was refused"))
        XCTAssertNil(UnixSocket.connect(inst.socket("fxecho")).map { close($0) }, "a refused plugin must not listen")

        chmod(plugins, 0o755)
        chmod(plugin, 0o775)
        var mark = inst.logMark()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("plugin \(plugin) refused: \(plugin) is group or world writable",
                                        since: mark, timeout: 15))

        chmod(plugin, 0o755)
        mark = inst.logMark()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("command single_echo resolves to plugin \(plugin)", since: mark, timeout: 15))
        var fd: Int32?
        XCTAssertTrue(waitUntil(timeout: 10) { fd = UnixSocket.connect(inst.socket("fxecho")); return fd != nil })
        if let fd {
            XCTAssertEqual(Wire.exchange(fd, "fixed\n"), "fixed\n")
            close(fd)
        }
    }
}
