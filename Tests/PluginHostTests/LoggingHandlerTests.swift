// LoggingHandlerTests.swift - the swift-log handler's level mapping
// (PluginAPILogging), which needs no host. Its records in a real master's
// log, with labels and metadata: SDKHostTests.swift.
import XCTest
import Logging
import PluginAPI
import PluginAPILogging

final class LoggingHandlerTests: XCTestCase {
    func testSwiftLogLevelsMapToHostLevelsNeverFatal() {
        let levels: [Logger.Level] = [.trace, .debug, .info, .notice, .warning, .error, .critical]
        XCTAssertEqual(levels.map(ServiceHostLogHandler.hostLevel),
                       [.info, .info, .info, .info, .warning, .error, .error])
    }
}
