// ChildContractTests.swift - what a child sees, under the stock master and
// under ours, for the same master.cf: argv, environment, cwd, umask and the
// kinds of descriptors 0-7. A probe "daemon" (a shell script placed in
// daemon_directory) records all of it when the master starts it; the two
// records must agree except for the pids and GENERATION's value.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class ChildContractTests: InstanceTestCase {

    private static let probeScript = """
        #!/bin/sh
        # Records what the master gave this process, then lingers briefly.
        # The environment is sorted: its variables matter, not their order.
        # cwd is queue_directory; the record goes beside it, in the instance.
        out=$(dirname "$(readlink -f /proc/$$/cwd)")/probe
        {
          for a in "$0" "$@"; do printf 'ARG:%s\\n' "$a"; done
          env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort | sed 's/^/ENV:/'
          echo "CWD:$(pwd)"
          echo "UMASK:$(umask)"
          for fd in 0 1 2 3 4 5 6 7; do
            t=$(readlink /proc/$$/fd/$fd 2>/dev/null | sed 's/:.*//')
            echo "FD$fd:${t:-closed}"
          done
        } > "$out.$$"
        mv "$out.$$" "$out.done.$$"
        sleep 3
        """

    /// Runs one instance with `master`, triggers the probe, returns its record.
    private func probeRecord(master: String) throws -> [String] {
        let inst = try makeInstance(master: master)
        let probe = inst.libexec + "/probe"
        try ChildContractTests.probeScript.write(toFile: probe, atomically: true, encoding: .utf8)
        chmod(probe, 0o755)
        try inst.appendMasterCf("""
            probe unix n n n - 1 probe -o x=1 -o { y = two words } { a b } c
            """)
        try inst.start()
        let socket = inst.queue + "/public/probe"
        let fd = UnixSocket.connect(socket)
        defer { fd.map { _ = close($0) } }
        XCTAssertNotNil(fd, "connect \(socket): \(String(cString: strerror(errno)))")
        var record: [String] = []
        XCTAssertTrue(waitUntil(timeout: 15) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: inst.dir)) ?? []
            guard let done = files.first(where: { $0.hasPrefix("probe.done.") }) else { return false }
            record = ((try? String(contentsOfFile: inst.dir + "/" + done, encoding: .utf8)) ?? "")
                .split(separator: "\n").map(String.init)
            return !record.isEmpty
        }, "the probe never ran under \(master); log:\n\(inst.logTail(30))")
        inst.stopAll()
        return record.map { Self.normalised($0, dir: inst.dir) }
    }

    /// Removes what legitimately differs between two runs.
    private static func normalised(_ line: String, dir: String) -> String {
        var text = line.replacingOccurrences(of: dir, with: "DIR")
        if let range = text.range(of: #"probe\.[0-9]+"#, options: .regularExpression) {
            text.replaceSubrange(range, with: "probe.PID")   // the record file, named after the pid
        }
        if text.hasPrefix("ENV:GENERATION=") {
            let value = text.dropFirst("ENV:GENERATION=".count)
            text = "ENV:GENERATION=" + (value.allSatisfy { ("0"..."7").contains($0) } && !value.isEmpty ? "octal" : String(value))
        }
        return text
    }

    func testChildSeesTheSameArgvEnvironmentAndDescriptorsAsUnderStock() throws {
        let stock = try probeRecord(master: TestEnv.stockMaster)
        let ours = try probeRecord(master: TestEnv.masterUnderTest)
        XCTAssertEqual(ours, stock, "child contract differs from stock")
        XCTAssertTrue(stock.contains("ARG:-o") && stock.contains("ARG:y = two words") && stock.contains("ARG:a b"),
                      "the probe record is incomplete: \(stock)")
        XCTAssertTrue(stock.contains("FD5:socket") && stock.contains("FD3:pipe") && stock.contains("FD6:socket"),
                      "descriptor kinds not recorded: \(stock)")
    }
}
