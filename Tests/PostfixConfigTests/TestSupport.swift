// Shared test helpers: running external programs, scratch directories, and
// access to the stock postconf(1) that serves as the reference.

import Foundation
import XCTest
@testable import PostfixConfig

struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Written by one reader thread, read only after the DispatchGroup wait.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

enum ProcessRunner {
    /// Runs `executable` with `arguments`, capturing both output streams.
    static func run(_ executable: String, _ arguments: [String],
                    environment: [String: String]? = nil) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting so a chatty child cannot block.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A scratch configuration directory holding main.cf and master.cf.
final class ScratchConfig {
    let directory: String

    init(main: String = "", master: String = "") throws {
        let base = FileManager.default.temporaryDirectory.path
        directory = base + "/pfconfig-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write("main.cf", main)
        try write("master.cf", master)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

enum StockPostconf {
    static let path = "/usr/sbin/postconf"
    static let packageSums = "/var/lib/dpkg/info/postfix.md5sums"

    /// The stock program; the calling test fails loudly when it is missing or
    /// is not the postfix package's own file (after `make install` it may be
    /// ours, and comparing ours with ours could not fail).
    static func available(file: StaticString = #filePath, line: UInt = #line) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing: the Postfix 3.7.11 package must be installed for the stock comparison tests",
                    file: file, line: line)
            return false
        }
        if let problem = notStock { XCTFail(problem, file: file, line: line) }
        return notStock == nil
    }

    /// Why `path` is not the packaged file, checked once against dpkg's checksum; nil when it is.
    static let notStock: String? = {
        guard let sums = try? String(contentsOfFile: packageSums, encoding: .utf8),
              let packaged = sums.split(separator: "\n").first(where: { $0.hasSuffix("  " + path.dropFirst()) })?
                .split(separator: " ").first.map(String.init) else {
            return "\(packageSums) has no checksum for \(path): cannot verify the stock program"
        }
        guard let sum = try? ProcessRunner.run("/usr/bin/md5sum", [path]), sum.status == 0,
              let actual = sum.stdout.split(separator: " ").first.map(String.init) else {
            return "md5sum \(path) failed"
        }
        return actual == packaged ? nil
            : "\(path) is not the postfix package's file (md5 \(actual), package \(packaged)): install the stock postconf to compare with it"
    }()

    static func run(_ config: ScratchConfig, _ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run(path, ["-c", config.directory] + arguments)
    }
}

/// Options for master.cf tests that do not depend on main.cf.
func testOptions(compatibilityLevel: String = "3.6", disable: String = "",
                 interfaces: String = "all", protocols: String = "all",
                 processLimit: Int = 100) -> MasterParseOptions {
    MasterParseOptions(defaultProcessLimit: processLimit, compatibilityLevel: compatibilityLevel,
                       disabled: ServiceDisableFilter(disable), inetInterfaces: interfaces,
                       inetProtocols: protocols,
                       knownTcpPorts: "lmtp=24, smtp=25, smtps=submissions=465, submission=587")
}

func parseMain(_ text: String, path: String = "/cfg/main.cf") throws -> MainConfig {
    try MainConfig.parse(text: text, path: path, configDirectory: "/cfg")
}

func parseMaster(_ text: String, options: MasterParseOptions = testOptions()) throws -> MasterConfig {
    try MasterConfig.parse(text: text, path: "/cfg/master.cf", options: options)
}

/// Asserts that `body` throws a ConfigError with exactly `message`.
func assertConfigError<T>(_ message: String, file: StaticString = #filePath, line: UInt = #line,
                          _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected error: \(message)", file: file, line: line)
    } catch let error as ConfigError {
        XCTAssertEqual(error.message, message, file: file, line: line)
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}

/// Asserts a macro failure: stock fatal text plus the expected warning.
func assertMacroError<T>(_ warning: String, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected macro error: \(warning)", file: file, line: line)
    } catch let error as ConfigError {
        XCTAssertEqual(error.message, "dictionary mail_dict: macro processing error", file: file, line: line)
        XCTAssertEqual(error.warnings, [warning], file: file, line: line)
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}
