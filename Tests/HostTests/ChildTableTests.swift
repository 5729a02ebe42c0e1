// ChildTableTests.swift - the pid table against a Dictionary model.
import XCTest
import PostfixConfig
@testable import Host

final class ChildTableTests: XCTestCase {
    private func child(_ pid: pid_t, _ service: Service) -> ChildProcess {
        ChildProcess(pid: pid, service: service, generation: UInt32(pid))
    }

    func testRandomInsertsAndRemovesMatchADictionary() throws {
        let service = try XCTUnwrap(ServiceFixture.make())
        var table = ChildTable()
        var model: [pid_t: UInt32] = [:]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // Pids from a narrow range make collisions and long probe runs likely.
            let pid = pid_t.random(in: 1...600, using: &generator)
            if Bool.random(using: &generator) {
                table.insert(child(pid, service))
                model[pid] = UInt32(pid)
            } else {
                XCTAssertEqual(table.remove(pid)?.pid, model.removeValue(forKey: pid).map { pid_t($0) })
            }
        }
        XCTAssertEqual(table.count, model.count)
        for pid in pid_t(1)...600 {
            XCTAssertEqual(table[pid]?.generation, model[pid], "pid \(pid)")
        }
        XCTAssertEqual(Set(table.all.map(\.pid)), Set(model.keys))
    }
}

/// A Service for tests that need one to point at; it never listens.
enum ServiceFixture {
    static func make() -> Service? {
        let options = MasterParseOptions(defaultProcessLimit: 100, compatibilityLevel: "3.6",
                                         disabled: ServiceDisableFilter(""), inetInterfaces: "127.0.0.1",
                                         inetProtocols: "ipv4", knownTcpPorts: "")
        guard let entry = try? MasterConfig.parse(text: "x unix n - n - - x", path: "/m", options: options).entries.first,
              let channel = StatusChannel() else { return nil }
        return Service(entry: entry, program: .executable(path: "/x"), throttleDelay: 1, listenFDs: [], channel: channel)
    }
}
