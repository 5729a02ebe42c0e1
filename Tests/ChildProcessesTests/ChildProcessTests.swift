// ChildProcessTests - ChildProcess against real children (/bin/sh): output
// captured from both pipes at once (a child that fills stderr while this
// side would be reading stdout must not hang), the keep limit, exit and
// signal statuses, the exact environment, and a spawn failure's text.
import XCTest
import Glibc
import ChildProcesses

final class ChildProcessTests: XCTestCase {
    func testBothPipesAreReadTogetherSoAChildFillingStderrFinishes() throws {
        // 256 KiB on stderr before anything on stdout: four pipes' worth.
        let script = "head -c 262144 /dev/zero | tr '\\000' e >&2; echo out; exit 3"
        let captured = try ChildProcess.runCapturing(["/bin/sh", "-c", script], env: ["PATH=/usr/bin:/bin"], stdout: true)
        XCTAssertEqual(captured.status, 3)
        XCTAssertEqual(captured.stdout, Array("out\n".utf8))
        XCTAssertEqual(captured.stderr.count, 262144)
        XCTAssertTrue(captured.stderr.allSatisfy { $0 == UInt8(ascii: "e") })
    }

    func testTheLimitKeepsThatMuchAndStillReadsToTheEnd() throws {
        let script = "head -c 200000 /dev/zero; echo done >&2"
        let captured = try ChildProcess.runCapturing(["/bin/sh", "-c", script], env: ["PATH=/usr/bin:/bin"],
                                                     stdout: true, limit: 1000)
        XCTAssertEqual(captured.status, 0)
        XCTAssertEqual(captured.stdout.count, 1000)
        XCTAssertEqual(captured.stderr, Array("done\n".utf8))
    }

    func testStdinIsEmptyAndTheEnvironmentIsExactlyWhatWasPassed() throws {
        let captured = try ChildProcess.runCapturing(["/bin/sh", "-c", "cat; env"], env: ["ONLY=this"], stdout: true)
        let lines = String(decoding: captured.stdout, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("PWD=") }
        XCTAssertEqual(lines, ["ONLY=this"])
    }

    func testSignalDeathAndSpawnFailure() throws {
        XCTAssertEqual(try ChildProcess.runCapturing(["/bin/sh", "-c", "kill -9 $$"], env: [], stdout: false).status, 128 + 9)
        let (status, text) = try ChildProcess.runCapturingStderr(["/bin/sh", "-c", "echo 'bad thing' >&2; exit 1"], env: [])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(text, "bad thing")
        XCTAssertThrowsError(try ChildProcess.runCapturing(["/nonexistent/program"], env: [], stdout: true)) { error in
            XCTAssertEqual("\(error)", "/nonexistent/program: No such file or directory")
        }
    }
}
