// TriggerRequestTests.swift - a trigger worker's reading of one request,
// over real pipes and socketpairs.
import XCTest
import Foundation
import Glibc
import MasterProtocol

final class TriggerRequestTests: XCTestCase {
    private var fds: [Int32] = [-1, -1]

    override func tearDown() {
        fds.filter { $0 >= 0 }.forEach { close($0) }
        super.tearDown()
    }

    private func socketPair() throws {
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
    }

    func testOneReadIsTheRequest() throws {
        try socketPair()
        XCTAssertEqual(write(fds[1], "W\0", 2), 2)
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 1000), [UInt8(ascii: "W"), 0])
    }

    func testLongRequestIsCutAtTheLimit() throws {
        try socketPair()
        let long = [UInt8](repeating: UInt8(ascii: "F"), count: TriggerRequest.limit + 300)
        XCTAssertEqual(write(fds[1], long, long.count), long.count)
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 1000), Array(long[0..<TriggerRequest.limit]))
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 1000).count, 300)
    }

    func testSilentConnectionGivesNoRequestAfterTheWait() throws {
        try socketPair()
        let start = monotonicSeconds()
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 200), [])
        let waited = monotonicSeconds() - start
        XCTAssertGreaterThanOrEqual(waited, 0.19, "it waits for the request")
        XCTAssertLessThan(waited, 10, "the wait is bounded")
    }

    func testARequestThatArrivesAfterTheAcceptIsWaitedFor() throws {
        try socketPair()
        let writer = fds[1]
        let thread = Thread { usleep(150_000); _ = write(writer, "D", 1) }
        thread.start()
        let start = monotonicSeconds()
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 5000), [UInt8(ascii: "D")])
        XCTAssertGreaterThanOrEqual(monotonicSeconds() - start, 0.1, "nothing was there at first: it waited")
    }

    private func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    func testClosedConnectionGivesNoRequest() throws {
        try socketPair()
        close(fds[1])
        fds[1] = -1
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 1000), [])
    }

    func testFifoDataIsReadWithoutWaiting() throws {
        XCTAssertEqual(pipe(&fds), 0)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 0), [], "nothing written yet: no request, no wait")
        XCTAssertEqual(write(fds[1], "A", 1), 1)
        XCTAssertEqual(TriggerRequest.read(from: fds[0], wait: 0), [UInt8(ascii: "A")])
    }
}
