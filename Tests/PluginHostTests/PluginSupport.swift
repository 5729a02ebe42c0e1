// PluginSupport.swift - what the plugin end-to-end tests add to the harness:
// building the C fixtures with cc, installing them and the Swift plugins into
// an instance's plugin directory (root-owned, 0755), talking to unix-domain
// services, and the host's refusal messages (Sources/MasterProtocol/PluginMessages.swift).
import Foundation
import XCTest
import TestSupport
import Glibc
import PluginAPI

enum PluginEnv {
    static let fixtures = TestEnv.packageRoot.appendingPathComponent("Tests/PluginHostTests/Fixtures").path
    static let abiInclude = TestEnv.packageRoot.appendingPathComponent("Sources/PluginAPI/CABI/include").path
    /// The ABI 1.0 header exactly as released: 1.0 plugins are built against it.
    static let abi10Include = TestEnv.packageRoot.appendingPathComponent("Tests/PluginHostTests/Fixtures/abi-1.0").path

    /// Where lib<name>.so of the Swift plugins were built: $MAILHOST_PLUGIN_BUILD_DIR,
    /// else the directory of the running test bundle (.build*/debug).
    static var pluginBuildDir: String {
        if let d = ProcessInfo.processInfo.environment["MAILHOST_PLUGIN_BUILD_DIR"], !d.isEmpty { return d }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The bundle may be a directory (Name.xctest/...) on some layouts.
        while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.path
    }

    /// Fails loudly when the plugin tests cannot run here.
    static func requirements() throws {
        try TestEnv.requirements()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") else {
            throw HarnessError("/usr/bin/cc missing: the plugin tests build their C fixtures")
        }
        for lib in ["libecho.so", "libspawn.so", "libtrap.so", "libprobe.so"] where !FileManager.default.fileExists(atPath: pluginBuildDir + "/" + lib) {
            throw HarnessError("\(pluginBuildDir)/\(lib) missing: build the plugins (swift build) or set MAILHOST_PLUGIN_BUILD_DIR")
        }
    }
}

/// Instance tests that also need cc and the built Swift plugins.
class PluginTestCase: InstanceTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try PluginEnv.requirements()
    }

    /// Asserts that the unix service `service` (an echo fixture) serves
    /// within 15 seconds, reconnecting while it is not there yet.
    func assertEchoes(_ inst: PrivateInstance, _ service: String, file: StaticString = #filePath, line: UInt = #line) {
        var served = ""
        waitUntil(timeout: 30, interval: 0.3) {
            guard let fd = UnixSocket.connect(inst.socket(service)) else { return false }
            defer { close(fd) }
            served = Wire.exchange(fd, "ping\n")
            return served == "ping\n"
        }
        XCTAssertEqual(served, "ping\n", "\(service) does not serve", file: file, line: line)
    }

    /// Connects to a unix-domain service, retrying for up to 10 seconds.
    func unixFD(_ path: String) throws -> Int32 {
        var fd: Int32? = nil
        waitUntil(timeout: 10) { fd = UnixSocket.connect(path); return fd != nil }
        guard let fd else { throw HarnessError("cannot connect to \(path)") }
        return fd
    }

    /// Sends one request line and returns the answer line without its newline.
    func request(_ fd: Int32, _ line: String, timeout: TimeInterval = 10) throws -> String {
        guard Wire.send(fd, line + "\n") else { throw HarnessError("cannot send \(line)") }
        let reply = Wire.read(fd, until: "\n", timeout: timeout)
        guard reply.hasSuffix("\n") else { throw HarnessError("no answer to \(line): \(reply.debugDescription)") }
        return String(reply.dropLast())
    }
}

extension PrivateInstance {
    /// Compiles Fixtures/<name>.c into DIR/libexec/<name>.so, root-owned, 0755.
    @discardableResult
    func installFixture(_ name: String, as installed: String? = nil) throws -> String {
        try buildFixture(name, to: libexec + "/" + (installed ?? name) + ".so")
    }

    /// Compiles Fixtures/<name>.c into any file (root-owned, 0755), with
    /// extra `-D` definitions such as a directory the fixture reports into,
    /// against the ABI header in `include` (the current one unless given),
    /// from `source` when the file is not a fixture.
    @discardableResult
    func buildFixture(_ name: String, to out: String, defines: [String] = [], include: String = PluginEnv.abiInclude,
                      source: String? = nil) throws -> String {
        let file = source ?? PluginEnv.fixtures + "/" + name + ".c"
        let r = try runCommand("/usr/bin/cc", ["-shared", "-fPIC", "-Wall", "-Werror", "-I", include]
                               + defines.map { "-D" + $0 } + ["-o", out, file], timeout: 60)
        guard r.status == 0 else { throw HarnessError("cc \(file) failed:\n\(r.output)") }
        chown(out, 0, 0)
        chmod(out, 0o755)
        return out
    }

    /// Copies the Swift plugins in with contrib/install-daemon-dir's plugin argument.
    func installSwiftPlugins() throws {
        let script = TestEnv.packageRoot.appendingPathComponent("contrib/install-daemon-dir").path
        let r = try runCommand(script, [libexec, libexec + "/master", PluginEnv.pluginBuildDir],
                               env: ["MAILHOST_INSTALL_TEST_PLUGINS": "1"], timeout: 60)
        guard r.status == 0 else { throw HarnessError("install-daemon-dir with plugins failed:\n\(r.output)") }
        for name in ["echo", "spawn", "trap", "probe"] where !FileManager.default.fileExists(atPath: libexec + "/" + name + ".so") {
            throw HarnessError("install-daemon-dir did not install \(name).so from \(PluginEnv.pluginBuildDir)")
        }
    }

    func appendMainCf(_ lines: String) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: mainCf))
        defer { try? h.close() }
        h.seekToEndOfFile()
        h.write(("\n" + lines + "\n").data(using: .utf8) ?? Data())
    }

    /// Path of a private (or public) unix service socket.
    func socket(_ service: String, _ area: String = "private") -> String { queue + "/" + area + "/" + service }
}

/// The host's plugin messages, as Sources/MasterProtocol/PluginMessages.swift writes them.
enum Expected {
    static func refused(_ path: String, _ reason: String) -> String { "plugin \(path) refused: \(reason)" }
    static func mismatch(_ field: String, _ plugin: String, _ host: String) -> String { "\(field) \(plugin) (host \(host))" }
    static let descriptorSize = MemoryLayout<mh_plugin_descriptor>.size
}


enum Wire {
    static func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    /// Reads until `needle` appears, EOF, or `timeout`.
    static func read(_ fd: Int32, until needle: String, timeout: TimeInterval = 10) -> String {
        var data = [UInt8]()
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var buf = [UInt8](repeating: 0, count: 4096)
            let got = Glibc.read(fd, &buf, buf.count)
            if got <= 0 { break }
            data.append(contentsOf: buf[0..<got])
            if String(decoding: data, as: UTF8.self).contains(needle) { break }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Sends `text` and returns what comes back up to `until` (default: the text).
    static func exchange(_ fd: Int32, _ text: String, until: String? = nil) -> String {
        guard send(fd, text) else { return "" }
        return read(fd, until: until ?? text)
    }
}
