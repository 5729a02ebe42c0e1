// StatusUpdateTests.swift - decoding of the 12-byte child status record.
import XCTest
@testable import Host

final class StatusUpdateTests: XCTestCase {
    func testDecodesLittleEndianRecord() {
        let bytes: [UInt8] = [0x39, 0x30, 0, 0, 0x0a, 0, 0, 0, 1, 0, 0, 0]
        XCTAssertEqual(StatusUpdate(bytes: bytes[...]),
                       StatusUpdate(pid: 12345, generation: 10, status: StatusUpdate.available))
    }

    func testDecodesFromSliceOffset() {
        let bytes: [UInt8] = [9, 9] + [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(StatusUpdate(bytes: bytes[2...]),
                       StatusUpdate(pid: 1, generation: 2, status: StatusUpdate.taken))
    }

    func testChannelCarriesRecordsWrittenByChildEnd() throws {
        let channel = try XCTUnwrap(StatusChannel())
        defer { channel.close() }
        var record: [UInt8] = [0xd2, 0x04, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(write(channel.childFD, &record, record.count), 12)
        XCTAssertEqual(write(channel.childFD, &record, record.count), 12)
        var updates: [StatusUpdate] = []
        guard case .updates(0) = channel.readUpdates({ updates.append($0) }) else { return XCTFail("no update read") }
        XCTAssertEqual(updates, Array(repeating: StatusUpdate(pid: 1234, generation: 7, status: StatusUpdate.taken), count: 2))
        guard case .empty = channel.readUpdates({ _ in }) else { return XCTFail("channel should be drained") }
    }

    func testShortRecordIsReportedAsPartial() throws {
        let channel = try XCTUnwrap(StatusChannel())
        defer { channel.close() }
        var record: [UInt8] = [1, 2, 3, 4, 5]
        XCTAssertEqual(write(channel.childFD, &record, record.count), 5)
        var updates: [StatusUpdate] = []
        guard case .updates(let fragment) = channel.readUpdates({ updates.append($0) }) else { return XCTFail("expected a fragment") }
        XCTAssertEqual(updates, [])
        XCTAssertEqual(fragment, 5)
    }
}
