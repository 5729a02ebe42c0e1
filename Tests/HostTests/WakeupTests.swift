// WakeupTests.swift - the master's wakeup triggers, compared with stock.
//
// A recorder "daemon" (python3, in daemon_directory) takes what the master
// sends: on unix it accepts and reads, on fifo it reads the FIFO. Each
// trigger is appended to a file as a line "<service> <bytes in hex>". The same
// master.cf runs under the stock master and under ours: the bytes and the
// number of wakeups in a fixed window must agree (give or take one tick,
// since the two runs cannot start at the same instant), and a conditional
// ("N?") service gets no wakeup until a client makes the master start it.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class WakeupTests: InstanceTestCase {

    private static let recorder = """
        #!/usr/bin/python3
        # Records master wakeups: unix (accept + read) or fifo (read) on fd 6.
        import os, select, socket, sys
        args = sys.argv[1:]
        name = args[args.index("-n") + 1] if "-n" in args else os.path.basename(sys.argv[0])
        kind = args[args.index("-t") + 1]
        out = os.path.join(os.path.dirname(os.getcwd()), "wakeups")
        def record(data):
            with open(out, "a") as f:
                f.write("%s %s\\n" % (name, data.hex()))
        listener = socket.socket(fileno=6) if kind == "unix" else None
        deadline_idle = 30
        while True:
            ready, _, _ = select.select([6], [], [], deadline_idle)
            if not ready:
                sys.exit(0)
            if listener is not None:
                conn, _ = listener.accept()
                conn.settimeout(2)
                try:
                    record(conn.recv(1024))
                except OSError:
                    pass
                conn.close()
            else:
                data = os.read(6, 1024)
                if data:
                    record(data)
        """

    /// Runs the recorders for `window` seconds under `master`; returns the lines.
    private func wakeups(master: String, window: TimeInterval, poke: Bool) throws -> [String] {
        let inst = try makeInstance(master: master)
        let path = inst.libexec + "/recorder"
        try WakeupTests.recorder.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        try inst.appendMasterCf("""
            wakeunix unix n n n 1 1 recorder
            wakefifo fifo n n n 1 1 recorder
            wakelater unix n n n 1? 1 recorder
            """)
        try inst.start()
        let started = Date()
        if poke {
            // A client of the conditional service: the master starts it, then wakes it.
            Thread.sleep(forTimeInterval: 1.5)
            let fd = try XCTUnwrap(UnixSocket.connect(inst.queue + "/public/wakelater"), "\(master): connect public/wakelater")
            XCTAssertEqual("poke".withCString { write(fd, $0, 4) }, 4, "\(master): write to public/wakelater")
            close(fd)
        }
        let recorded = { ((try? String(contentsOfFile: inst.dir + "/wakeups", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        if poke {
            // What the conditional service must show; a slow machine gets more time, not a failure.
            waitUntil(timeout: 30, interval: 0.2) {
                let lines = recorded()
                return lines.contains("wakelater 706f6b65") && lines.filter { $0 == "wakelater 5700" }.count >= 2
            }
        } else {
            Thread.sleep(forTimeInterval: max(0, window - Date().timeIntervalSince(started)))
        }
        inst.stopAll()
        return recorded()
    }

    private func count(_ lines: [String], _ service: String) -> Int {
        lines.filter { $0.hasPrefix(service + " ") }.count
    }

    func testWakeupBytesAndRateMatchStock() throws {
        let stock = try wakeups(master: TestEnv.stockMaster, window: 4.5, poke: false)
        let ours = try wakeups(master: TestEnv.masterUnderTest, window: 4.5, poke: false)
        for lines in [stock, ours] {
            XCTAssertTrue(lines.contains("wakeunix 5700"), "unix wakeups are W NUL: \(lines)")
            XCTAssertTrue(lines.contains("wakefifo 57"), "fifo wakeups are W: \(lines)")
            XCTAssertEqual(count(lines, "wakelater"), 0, "a conditional service is not woken before use: \(lines)")
        }
        for service in ["wakeunix", "wakefifo"] {
            XCTAssertGreaterThanOrEqual(count(ours, service), 3, "\(service): one at start, then every second")
            XCTAssertLessThanOrEqual(abs(count(ours, service) - count(stock, service)), 1,
                                     "\(service): ours \(count(ours, service)) vs stock \(count(stock, service))")
        }
    }

    func testConditionalWakeupStartsAfterFirstUse() throws {
        let ours = try wakeups(master: TestEnv.masterUnderTest, window: 5, poke: true)
        let stock = try wakeups(master: TestEnv.stockMaster, window: 5, poke: true)
        for (who, lines) in [("ours", ours), ("stock", stock)] {
            XCTAssertTrue(lines.contains("wakelater 706f6b65"), "\(who): the client's bytes reached the service: \(lines)")
            XCTAssertGreaterThanOrEqual(lines.filter { $0 == "wakelater 5700" }.count, 2,
                                        "\(who): wakeups started after the first spawn: \(lines)")
        }
    }
}
