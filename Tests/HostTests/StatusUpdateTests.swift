// StatusUpdateTests.swift - the master's reading of child status records.
//
// Every test here goes through the code the master runs: StatusChannel's
// readUpdates over a real socketpair, which decodes with MasterProtocol's
// StatusRecords, and the encoder plugin workers write with. Records, partial
// records, several records per read and garbage are checked field by field.
import XCTest
@testable import Host

final class StatusUpdateTests: XCTestCase {
    private var channel: StatusChannel!

    override func setUpWithError() throws {
        channel = try XCTUnwrap(StatusChannel())
    }

    override func tearDown() {
        channel.close()
        super.tearDown()
    }

    /// Writes `bytes` with one write() on the children's end.
    private func childWrites(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(write(channel.childFD, bytes, bytes.count), bytes.count, file: file, line: line)
    }

    /// One readUpdates call: the records it delivered and its trailing fragment.
    private func masterReads(file: StaticString = #filePath, line: UInt = #line) -> (updates: [StatusUpdate], fragment: Int)? {
        var updates: [StatusUpdate] = []
        switch channel.readUpdates({ updates.append($0) }) {
        case .updates(let fragment): return (updates, fragment)
        case .empty: return ([], -1)
        case .failed(let text): XCTFail("read failed: \(text)", file: file, line: line); return nil
        }
    }

    func testRecordLayoutIsPostfixMasterStatus() {
        let record = StatusUpdate(pid: 12345, generation: 10, status: StatusUpdate.available)
        XCTAssertEqual(record.bytes, [0x39, 0x30, 0, 0, 0x0a, 0, 0, 0, 1, 0, 0, 0])
        childWrites(record.bytes)
        let read = masterReads()
        XCTAssertEqual(read?.updates, [record])
        XCTAssertEqual(read?.fragment, 0)
    }

    func testSeveralRecordsInOneReadKeepTheirOrderAndFields() {
        let records = [StatusUpdate(pid: 1234, generation: 7, status: StatusUpdate.taken),
                       StatusUpdate(pid: 1235, generation: 8, status: StatusUpdate.available),
                       StatusUpdate(pid: 0x7fff_fffe, generation: 0xffff_fffe, status: StatusUpdate.taken)]
        for record in records { childWrites(record.bytes) }
        let read = masterReads()
        XCTAssertEqual(read?.updates, records)
        XCTAssertEqual(read?.fragment, 0)
        XCTAssertEqual(masterReads()?.fragment, -1, "channel should be drained")
    }

    func testRecordsConcatenatedInOneWrite() {
        let records = (1...5).map { StatusUpdate(pid: Int32(100 + $0), generation: UInt32($0), status: Int32($0 % 2)) }
        childWrites(records.flatMap(\.bytes))
        XCTAssertEqual(masterReads()?.updates, records)
    }

    func testPartialRecordIsReportedAndDropped() {
        childWrites([1, 2, 3, 4, 5])
        let read = masterReads()
        XCTAssertEqual(read?.updates, [])
        XCTAssertEqual(read?.fragment, 5)
        // The next whole record is read on its own, unharmed by the fragment before.
        let record = StatusUpdate(pid: 42, generation: 3, status: StatusUpdate.available)
        childWrites(record.bytes)
        XCTAssertEqual(masterReads()?.updates, [record])
    }

    func testWholeRecordsBeforeATrailingFragmentAreDelivered() {
        let record = StatusUpdate(pid: 77, generation: 9, status: StatusUpdate.taken)
        childWrites(record.bytes + record.bytes + [0xaa, 0xbb, 0xcc])
        let read = masterReads()
        XCTAssertEqual(read?.updates, [record, record])
        XCTAssertEqual(read?.fragment, 3)
    }

    func testGarbageDecodesAsItsBitsWithoutLoss() {
        // 12 bytes of 0xff: pid -1, generation 0xffffffff, status -1; the
        // master then finds no such child. Nothing is invented or dropped.
        let garbage = [UInt8](repeating: 0xff, count: 12)
            + [0x00, 0x00, 0x00, 0x80, 0x01, 0x02, 0x03, 0x04, 0x02, 0x00, 0x00, 0x00] + [0x10]
        childWrites(garbage)
        let read = masterReads()
        XCTAssertEqual(read?.updates, [StatusUpdate(pid: -1, generation: 0xffff_ffff, status: -1),
                                       StatusUpdate(pid: Int32.min, generation: 0x0403_0201, status: 2)])
        XCTAssertEqual(read?.fragment, 1)
    }

    func testMoreRecordsThanOneReadTakesAreNeverCutInTwo() {
        let records = (0..<100).map { StatusUpdate(pid: Int32(1000 + $0), generation: UInt32($0), status: Int32($0 & 1)) }
        for record in records { childWrites(record.bytes) }
        var seen: [StatusUpdate] = []
        while let read = masterReads(), read.fragment >= 0 {
            XCTAssertEqual(read.fragment, 0)
            XCTAssertFalse(read.updates.isEmpty)
            seen += read.updates
        }
        XCTAssertEqual(seen, records)
    }

    func testDecoderReadsOnlyTheBytesItIsGiven() {
        // The same buffer decoded through a slice that ends mid-record.
        let bytes = StatusUpdate(pid: 5, generation: 6, status: 1).bytes + [9, 9, 9, 9]
        var updates: [StatusUpdate] = []
        let fragment = bytes.withUnsafeBytes { raw in
            StatusRecords.decode(UnsafeRawBufferPointer(rebasing: raw[0..<14])) { updates.append($0) }
        }
        XCTAssertEqual(updates, [StatusUpdate(pid: 5, generation: 6, status: 1)])
        XCTAssertEqual(fragment, 2)
    }
}
