// PluginFileCheckTests.swift - the ownership and mode rule applies to the file
// that is actually loaded, every time it is loaded: at validation, in every
// worker, and in executable mode (`-o mailhost_plugin=...`), including the
// shared library a libtool archive (.la) names and the real directory of a
// symlinked plugin. A refusal names the file and the reason, ends only the
// loading process, and the master keeps running. Needs root and the postfix
// package: fails, never skips.
import Foundation
import XCTest
import TestSupport
import Glibc

final class PluginFileCheckTests: PluginTestCase {
    /// An installed libtool archive naming `dlname` in `libdir`, root-owned, 0644.
    func writeLibtoolArchive(_ path: String, dlname: String, libdir: String) throws {
        let text = """
            # \(URL(fileURLWithPath: path).lastPathComponent) - a libtool library file
            dlname='\(dlname)'
            library_names='\(dlname) \(dlname)'
            old_library=''
            dependency_libs=''
            installed=yes
            shouldnotlink=yes
            libdir='\(libdir)'

            """
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chown(path, 0, 0)
        chmod(path, 0o644)
    }

    /// A root-owned 0755 directory under the instance.
    func makeDirectory(_ inst: PrivateInstance, _ name: String, mode: mode_t = 0o755) throws -> String {
        let path = inst.dir + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chown(path, 0, 0)
        chmod(path, mode)
        return path
    }

    /// DIR/plugins/fxla.la naming DIR/lib/libfxla.so.0 (single_echo, of the
    /// given mode); returns the plugin directory and the library.
    func installArchive(_ inst: PrivateInstance, libraryMode: mode_t) throws -> (plugins: String, library: String) {
        let plugins = try makeDirectory(inst, "plugins")
        let lib = try makeDirectory(inst, "lib")
        let library = try inst.buildFixture("single_echo", to: lib + "/libfxla.so.0")
        chmod(library, libraryMode)
        try writeLibtoolArchive(plugins + "/fxla.la", dlname: "libfxla.so.0", libdir: lib)
        return (plugins, library)
    }

    /// Replaces `path` with a fresh build of single_echo of the given mode
    /// (a new file renamed into place, as an installer would).
    func replace(_ inst: PrivateInstance, _ path: String, mode: mode_t) throws {
        let fresh = try inst.buildFixture("single_echo", to: path + ".new")
        chmod(fresh, mode)
        guard rename(fresh, path) == 0 else { throw HarnessError("rename \(fresh): \(errno)") }
    }

    /// Connects once and returns what the service answered within 5 seconds
    /// (nothing when its workers refuse to load the plugin).
    func answer(_ inst: PrivateInstance, _ service: String) throws -> String {
        guard let fd = UnixSocket.connect(inst.socket(service)) else { throw HarnessError("cannot connect to \(service)") }
        defer { close(fd) }
        guard Wire.send(fd, "ping\n") else { return "" }
        return Wire.read(fd, until: "ping\n", timeout: 5)
    }

    // MARK: validation

    func testArchiveNamingAWritableLibraryIsRefusedAtValidation() throws {
        let inst = try makeInstance()
        let (plugins, library) = try installArchive(inst, libraryMode: 0o775)
        try inst.appendMainCf("plugin_directory = \(plugins)")
        try inst.appendMasterCf("fxla unix - n n - - fxla")
        try inst.start()

        XCTAssertNotNil(inst.waitForLog(Expected.refused(plugins + "/fxla.la", library + " is group or world writable"),
                                        timeout: 15), "the library an archive names is checked at validation")
        XCTAssertNotNil(inst.waitForLog("service \"fxla\" (private/fxla) disabled: its plugin was refused"))
        XCTAssertNil(UnixSocket.connect(inst.socket("fxla")).map { close($0) }, "a refused plugin must not listen")

        // Fixed, the archive loads its library at the next reload.
        chmod(library, 0o755)
        let mark = inst.logMark()
        XCTAssertEqual(try inst.postfix("reload").status, 0)
        XCTAssertNotNil(inst.waitForLog("command fxla resolves to plugin \(plugins)/fxla.la", since: mark, timeout: 15))
        assertEchoes(inst, "fxla")
    }

    func testSymlinkedPluginIsCheckedWhereItReallyLives() throws {
        let inst = try makeInstance()
        let open = try makeDirectory(inst, "open", mode: 0o777)
        let real = try inst.buildFixture("single_echo", to: open + "/fxlink.so")
        XCTAssertEqual(symlink(real, inst.libexec + "/fxlink.so"), 0)
        try inst.appendMasterCf("fxlink unix - n n - - fxlink")
        try inst.start()
        XCTAssertNotNil(inst.waitForLog(Expected.refused(inst.libexec + "/fxlink.so", open + " is group or world writable"),
                                        timeout: 15), "the directory the plugin really lives in is checked")
        XCTAssertNil(UnixSocket.connect(inst.socket("fxlink")).map { close($0) }, "a refused plugin must not listen")
    }

    func testMissingArchiveTargetAndNonRegularFileAreRefusedWithTheirReasons() throws {
        let inst = try makeInstance()
        let plugins = try makeDirectory(inst, "plugins")
        try writeLibtoolArchive(plugins + "/fxgone.la", dlname: "libgone.so.0", libdir: inst.dir + "/nolib")
        XCTAssertEqual(mkfifo(plugins + "/fxfifo.so", 0o644), 0)
        try inst.appendMainCf("plugin_directory = \(plugins)")
        try inst.appendMasterCf("""
            fxgone unix - n n - - fxgone
            fxfifo unix - n n - - fxfifo
            """)
        try inst.start()
        let missing = "\(plugins)/fxgone.la names libgone.so.0, which is not at \(inst.dir)/nolib/libgone.so.0 or \(plugins)/libgone.so.0"
        XCTAssertNotNil(inst.waitForLog(Expected.refused(plugins + "/fxgone.la", missing), timeout: 15))
        // Opened without blocking, and refused for what it is (not after a validation timeout).
        XCTAssertNotNil(inst.waitForLog(Expected.refused(plugins + "/fxfifo.so", plugins + "/fxfifo.so is not a regular file"),
                                        timeout: 15))
    }

    // MARK: workers

    func testPluginMadeWritableAfterValidationIsRefusedByTheNextWorker() throws {
        let inst = try makeInstance()
        let (plugins, library) = try installArchive(inst, libraryMode: 0o755)
        let plain = try inst.buildFixture("single_echo", to: plugins + "/fxso.so")
        try inst.appendMainCf("plugin_directory = \(plugins)\nservice_throttle_time = 1s")
        try inst.appendMasterCf("""
            fxla unix - n n - - fxla
            fxso unix - n n - - fxso
            """)
        try inst.start()
        XCTAssertNotNil(inst.waitForLog("command fxla resolves to plugin \(plugins)/fxla.la", timeout: 15))
        XCTAssertNotNil(inst.waitForLog("command fxso resolves to plugin \(plugins)/fxso.so", timeout: 15))
        let master = inst.masterPid()

        // Both pass validation; then each file is replaced by a group-writable
        // one. No worker has run yet: the next one must refuse.
        try replace(inst, library, mode: 0o775)
        try replace(inst, plain, mode: 0o775)
        let mark = inst.logMark()
        XCTAssertEqual(try answer(inst, "fxla"), "", "a worker served a group-writable library named by an archive")
        XCTAssertEqual(try answer(inst, "fxso"), "", "a worker served a group-writable plugin")
        for (path, file) in [(plugins + "/fxla.la", library), (plain, plain)] {
            let line = inst.waitForLog("fatal: " + Expected.refused(path, file + " is group or world writable"),
                                       since: mark, timeout: 15)
            XCTAssertNotNil(line, "no worker refusal for \(file)")
        }
        XCTAssertEqual(inst.masterPid(), master, "a refusal ends only the worker")
        XCTAssertNotNil(Net.banner(port: inst.smtpPort), "stock smtpd beside the refused workers")

        // Fixed, the next workers (after the 1s throttle) serve.
        chmod(library, 0o755)
        chmod(plain, 0o755)
        assertEchoes(inst, "fxla")
        assertEchoes(inst, "fxso")
    }

    // MARK: executable mode

    func testExecutableModeChecksTheFileItLoads() throws {
        let inst = try makeInstance()
        let (plugins, library) = try installArchive(inst, libraryMode: 0o775)
        let plain = try inst.buildFixture("single_echo", to: plugins + "/fxso.so")
        chmod(plain, 0o775)
        // A copy of our master named after the command runs as a daemon.
        let daemon = inst.libexec + "/fxdaemon"
        XCTAssertEqual(try runCommand("/bin/cp", [inst.libexec + "/master", daemon]).status, 0)
        chmod(daemon, 0o755)
        try inst.appendMainCf("service_throttle_time = 1s")
        try inst.appendMasterCf("""
            fxexecla unix - n n - - fxdaemon -o mailhost_plugin=\(plugins)/fxla.la
            fxexecso unix - n n - - fxdaemon -o mailhost_plugin=\(plain)
            """)
        try inst.start()
        let master = inst.masterPid()

        let mark = inst.logMark()
        XCTAssertEqual(try answer(inst, "fxexecla"), "", "executable mode served a group-writable library")
        XCTAssertEqual(try answer(inst, "fxexecso"), "", "executable mode served a group-writable plugin")
        for (path, file) in [(plugins + "/fxla.la", library), (plain, plain)] {
            let line = inst.waitForLog("fxdaemon", "fatal: " + Expected.refused(path, file + " is group or world writable"),
                                       since: mark, timeout: 15)
            XCTAssertNotNil(line, "no executable-mode refusal for \(file)")
        }
        XCTAssertEqual(inst.masterPid(), master)

        chmod(library, 0o755)
        chmod(plain, 0o755)
        assertEchoes(inst, "fxexecla")
        assertEchoes(inst, "fxexecso")
    }
}
