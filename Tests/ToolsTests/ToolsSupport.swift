// Test support for ToolsTests: locating our built tools, running a program
// with separate stdout/stderr and a bound on its run time, scratch dirs.
// Requirements (root, the Debian postfix package) fail loudly, never skip.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum Tools {
    /// Directory holding our built products: $MAILHOST_BIN_DIR, else the
    /// directory of the running test executable (.build*/debug), found
    /// through /proc/self/exe because Bundle.allBundles misses it on Linux.
    static var productsDir: String {
        if let dir = ProcessInfo.processInfo.environment["MAILHOST_BIN_DIR"], !dir.isEmpty { return dir }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path.contains(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.path
    }
    static var postconf: String { productsDir + "/postconf" }
    static var postfix: String { productsDir + "/postfix" }
    static var postmulti: String { productsDir + "/postmulti" }
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The stock programs compared with, verified against Debian's package
    /// checksums (StockBinaries); unverifiable means the test fails.
    static var stockPostconf: String { get throws { try StockBinaries.postconf() } }
    static var stockPostfix: String { get throws { try StockBinaries.postfix() } }
    static var stockPostmulti: String { get throws { try StockBinaries.postmulti() } }

    /// Fails the test loudly unless the stock programs and ours exist.
    static func require(_ paths: [String], root: Bool = false, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        if root && geteuid() != 0 {
            XCTFail("this test needs root (postfix(1) is reserved for the superuser)", file: file, line: line)
            return false
        }
        for p in paths where !FileManager.default.isExecutableFile(atPath: p) {
            XCTFail("\(p) missing: build with swift build / install the Debian postfix package", file: file, line: line)
            return false
        }
        return true
    }
}

struct RunResult: Equatable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `path args` with stdin /dev/null, killing it (by pid) after `timeout`.
@discardableResult
func runTool(_ path: String, _ args: [String], env: [String: String]? = nil, cwd: String? = nil,
         timeout: TimeInterval = 60) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let env = env { p.environment = env }
    if let cwd = cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let dir = NSTemporaryDirectory() + "tools-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    _ = FileManager.default.createFile(atPath: dir + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: dir + ".err", contents: nil)
    defer { try? FileManager.default.removeItem(atPath: dir + ".out"); try? FileManager.default.removeItem(atPath: dir + ".err") }
    guard let out = FileHandle(forWritingAtPath: dir + ".out"), let err = FileHandle(forWritingAtPath: dir + ".err") else {
        throw ToolError("cannot create capture files")
    }
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        throw ToolError("\(path) \(args) timed out after \(timeout)s")
    }
    p.waitUntilExit()
    try out.close(); try err.close()
    let o = (try? String(contentsOfFile: dir + ".out", encoding: .utf8)) ?? ""
    let e = (try? String(contentsOfFile: dir + ".err", encoding: .utf8)) ?? ""
    return RunResult(status: p.terminationStatus, stdout: o, stderr: e)
}

/// A fresh scratch directory under /tmp (searchable by the postfix user).
func scratchDir(_ tag: String) throws -> String {
    let path = "/tmp/toolstest-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    chmod(path, 0o755)
    return path
}

func readFile(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

func writeFile(_ path: String, _ text: String) throws {
    try text.write(toFile: path, atomically: false, encoding: .utf8)
}

/// Diagnostics with the leading "<argv[0]>: " removed from every line, since
/// stock and ours are started from different paths.
func withoutProgram(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
        guard let colon = line.range(of: ": ") else { return String(line) }
        let head = line[..<colon.lowerBound]
        return head.hasSuffix("postconf") || head.hasSuffix("postfix") || head.hasSuffix("postmulti")
            ? String(line[colon.upperBound...]) : String(line)
    }.joined(separator: "\n")
}
