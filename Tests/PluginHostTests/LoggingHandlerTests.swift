// LoggingHandlerTests.swift - the swift-log handler (PluginAPILogging)
// against the fake host table: records reach the host's log function with
// the mapped level, label, and metadata; levels below logLevel do not.
import XCTest
import Logging
import PluginAPI
import PluginAPILogging

final class LoggingHandlerTests: XCTestCase {
    override func setUp() { FakeHost.reset() }

    func testRecordsReachTheHostWithMappedLevelsAndMetadata() {
        let host = FakeHost.host()
        var logger = host.logger(label: "unused-label", level: .debug)
        logger[metadataKey: "service"] = "fakesvc"
        logger.trace("not logged: below debug")
        logger.debug("d")
        logger.notice("n")
        logger.warning("w", metadata: ["client": "127.0.0.1", "attempt": "2"])
        logger.error("e")
        logger.critical("c")
        XCTAssertEqual(FakeHost.logs.map { $0.0 }, [0, 0, 1, 2, 2], "info, info, warning, error, error (never fatal)")
        XCTAssertEqual(FakeHost.logs.map { $0.1 }, [
            "d service=fakesvc", "n service=fakesvc",
            "w attempt=2 client=127.0.0.1 service=fakesvc", "e service=fakesvc", "c service=fakesvc"])
    }

    func testLabelPrefixAndDefaultLevel() {
        let handler = ServiceHostLogHandler(host: FakeHost.host(), label: "policy")
        let logger = Logger(label: "policy") { _ in handler }
        logger.debug("hidden at the default level")
        logger.info("ready")
        XCTAssertEqual(FakeHost.logs.map { $0.1 }, ["policy: ready"])
        XCTAssertEqual(ServiceHostLogHandler.hostLevel(.critical), .error)
    }
}
