// InstanceTestCase.swift - the base of test cases that run private instances.
//
// Fails (never skips) when root or the postfix package is missing, and
// destroys every instance a test made, stopping its processes by pid.
import Foundation
import XCTest

open class InstanceTestCase: XCTestCase {
    public var instances: [PrivateInstance] = []

    open override func setUpWithError() throws {
        continueAfterFailure = false
        try TestEnv.requirements()
    }

    open override func tearDown() {
        if (testRun?.failureCount ?? 0) > 0 {
            for instance in instances {
                print("--- \(name): master \(instance.master), instance \(instance.dir), last log lines:\n\(instance.logTail(60))\n---")
            }
        }
        instances.forEach { $0.destroy() }
        instances = []
        super.tearDown()
    }

    /// The instance made last, for tests that use one.
    public var instance: PrivateInstance? { instances.last }

    /// A new private instance, destroyed after the test.
    public func makeInstance(master: String = TestEnv.masterUnderTest, relayPort: Int? = nil) throws -> PrivateInstance {
        let instance = try PrivateInstance(master: master, relayPort: relayPort)
        instances.append(instance)
        return instance
    }
}
