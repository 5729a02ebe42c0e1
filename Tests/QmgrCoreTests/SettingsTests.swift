// SettingsTests: qmgr(8)'s parameters as QmgrSettings and TransportSettings
// read them — stock's defaults (src/global/mail_params.h), ranges and fatal
// texts (src/global/mail_conf_int.c, mail_conf_time.c, mail_conf_bool.c,
// mail_conf_str.c), the start-up adjustments (src/qmgr/qmgr.c
// qmgr_post_init), per-transport overrides and built-ins
// (src/qmgr/qmgr_transport.c), and feedback values (src/qmgr/qmgr_feedback.c).
import XCTest
@testable import QmgrCore

final class SettingsTests: XCTestCase {
    func testStockDefaults() throws {
        let s = try makeSettings()
        XCTAssertEqual(s.activeLimit, 20000)
        XCTAssertEqual(s.recipientLimit, 20000)
        XCTAssertEqual(s.recipientMinimum, 10)
        XCTAssertEqual(s.queueRunDelay, 300)
        XCTAssertEqual(s.minimalBackoffTime, 300)
        XCTAssertEqual(s.maximalBackoffTime, 4000)
        XCTAssertEqual(s.maximalQueueLifetime, 5 * 86400)
        XCTAssertEqual(s.bounceQueueLifetime, 5 * 86400)
        XCTAssertEqual(s.transportRetryTime, 60)
        XCTAssertEqual(s.clogWarnTime, 300)
        XCTAssertEqual(s.daemonTimeout, 1000)
        XCTAssertEqual(s.ipcTimeout, 60)
        XCTAssertEqual(s.verifyPendingLimit, 5000)
        XCTAssertEqual(s.deferTransports, [])
        XCTAssertFalse(s.feedbackDebug)
        XCTAssertFalse(s.confirmDelayCleared)
        XCTAssertTrue(s.helpfulWarnings)
        XCTAssertEqual(s.retryJitterPercent, 0)
        XCTAssertNil(s.destinationRateLimit)
        XCTAssertEqual(s.warnings, [])

        let smtp = try TransportSettings(name: "smtp", globals: s)
        XCTAssertEqual(smtp.concurrencyLimit, 20)
        XCTAssertEqual(smtp.recipientLimit, 50)
        XCTAssertEqual(smtp.initialConcurrency, 5)
        XCTAssertEqual(smtp.slotCost, 5)
        XCTAssertEqual(smtp.slotLoan, 3)
        XCTAssertEqual(smtp.slotLoanFactor, 50)
        XCTAssertEqual(smtp.minimumSlots, 3)
        XCTAssertEqual(smtp.recipientSlots, 20000)
        XCTAssertEqual(smtp.extraRecipientSlots, 1000)
        XCTAssertEqual(smtp.refillLimit, 100)
        XCTAssertEqual(smtp.refillDelay, 5)
        XCTAssertEqual(smtp.failedCohortLimit, 1)
        XCTAssertEqual(smtp.positiveFeedback, FeedbackSetting(kind: .constant, base: 1))
        XCTAssertEqual(smtp.transportRateDelay, 0)
        XCTAssertEqual(smtp.destinationRateDelay, 0)
        XCTAssertNil(smtp.destinationRateLimit)
    }

    func testLocalBuiltInsAndOverrides() throws {
        let local = try TransportSettings(name: "local", globals: makeSettings())
        XCTAssertEqual(local.concurrencyLimit, 2)
        XCTAssertEqual(local.recipientLimit, 1)
        // The initial concurrency is lowered to a smaller non-zero limit.
        XCTAssertEqual(local.initialConcurrency, 2)

        let g = try makeSettings(["local_destination_recipient_limit": "5", "smtp_destination_concurrency_limit": "3",
                                  "default_destination_recipient_limit": "7", "relay_delivery_slot_cost": "1"])
        XCTAssertEqual(try TransportSettings(name: "local", globals: g).recipientLimit, 5)
        let smtp = try TransportSettings(name: "smtp", globals: g)
        XCTAssertEqual(smtp.concurrencyLimit, 3)
        XCTAssertEqual(smtp.initialConcurrency, 3)
        XCTAssertEqual(smtp.recipientLimit, 7)
        XCTAssertEqual(try TransportSettings(name: "relay", globals: g).slotCost, 1)
    }

    func testDestinationRateDelayForcesConcurrencyOne() throws {
        let g = try makeSettings(["slow_destination_rate_delay": "1m"])
        let slow = try TransportSettings(name: "slow", globals: g)
        XCTAssertEqual(slow.destinationRateDelay, 60)
        XCTAssertEqual(slow.concurrencyLimit, 1)
        XCTAssertEqual(slow.initialConcurrency, 1)
    }

    func testTimeUnitsDefaultFromTheDefaultValue() throws {
        // maximal_queue_lifetime's default "5d" makes a bare number days.
        let s = try makeSettings(["maximal_queue_lifetime": "3", "minimal_backoff_time": "2m",
                                  "bounce_queue_lifetime": "1h", "maximal_backoff_time": "1w"])
        XCTAssertEqual(s.maximalQueueLifetime, 3 * 86400)
        XCTAssertEqual(s.minimalBackoffTime, 120)
        XCTAssertEqual(s.bounceQueueLifetime, 3600)
        XCTAssertEqual(s.maximalBackoffTime, 7 * 86400)
    }

    func testStartUpAdjustmentsWarnInStockWording() throws {
        let s = try makeSettings(["qmgr_message_active_limit": "100", "qmgr_message_recipient_limit": "50",
                                  "maximal_queue_lifetime": "1d", "bounce_queue_lifetime": "2d"])
        XCTAssertEqual(s.recipientLimit, 100)
        XCTAssertEqual(s.bounceQueueLifetime, 86400)
        XCTAssertEqual(s.warnings, [
            "qmgr_message_recipient_limit is smaller than qmgr_message_active_limit - adjusting qmgr_message_recipient_limit",
            "bounce_queue_lifetime is larger than maximal_queue_lifetime - adjusting bounce_queue_lifetime",
        ])
    }

    func testBadValuesAreFatalWithStockText() throws {
        let cases: [([String: String], String)] = [
            (["qmgr_message_active_limit": "abc"], "bad numerical configuration: qmgr_message_active_limit = abc"),
            (["qmgr_message_active_limit": ""], "bad numerical configuration: qmgr_message_active_limit = "),
            (["qmgr_message_active_limit": "10 "], "bad numerical configuration: qmgr_message_active_limit = 10 "),
            (["qmgr_message_active_limit": "4294967296"],
             "bad numerical configuration: qmgr_message_active_limit = 4294967296"),
            (["initial_destination_concurrency": "0"], "invalid initial_destination_concurrency parameter value 0 < 1"),
            (["default_delivery_slot_discount": "101"], "invalid default_delivery_slot_discount parameter value 101 > 100"),
            (["minimal_backoff_time": "10x"], "parameter minimal_backoff_time: bad time value or unit: 10x"),
            (["minimal_backoff_time": "-1"], "parameter minimal_backoff_time: bad time value or unit: -1"),
            (["transport_retry_time": "0"], "invalid transport_retry_time: 0 (min 1)"),
            (["maximal_queue_lifetime": "101d"], "invalid maximal_queue_lifetime: 8726400 (max 8640000)"),
            (["confirm_delay_cleared": "maybe"], "bad boolean configuration: confirm_delay_cleared = maybe"),
            (["default_destination_concurrency_positive_feedback": ""],
             "bad string length 0 < 1: default_destination_concurrency_positive_feedback = "),
            (["mailhost_default_destination_rate_limit": "10"],
             "bad rate limit configuration: mailhost_default_destination_rate_limit = 10 (expected N/period, e.g. 10/1m)"),
        ]
        for (values, text) in cases {
            XCTAssertThrowsError(try makeSettings(values), "\(values)") { error in
                XCTAssertEqual((error as? QmgrConfigError)?.description, text)
            }
        }
    }

    func testBadTransportValuesAreFatalUnderTheirConcatenatedName() throws {
        let g = try makeSettings(["smtp_initial_destination_concurrency": "0", "relay_recipient_refill_delay": "0",
                                  "x_destination_concurrency_limit": "many"])
        XCTAssertThrowsError(try TransportSettings(name: "smtp", globals: g)) { error in
            XCTAssertEqual("\(error)", "invalid smtp_initial_destination_concurrency parameter value 0 < 1")
        }
        XCTAssertThrowsError(try TransportSettings(name: "relay", globals: g)) { error in
            XCTAssertEqual("\(error)", "invalid relay_recipient_refill_delay: 0 (min 1)")
        }
        // A transport first seen in a message: fatal when it is first used.
        let scheduler = try Scheduler(settings: g)
        XCTAssertThrowsError(try scheduler.add(queueID: "A", batch: batch(recipients(1, transport: "x")), now: 0)) {
            XCTAssertEqual("\($0)", "bad numerical configuration: x_destination_concurrency_limit = many")
        }
    }

    func testFeedbackForms() {
        XCTAssertEqual(FeedbackSetting.parse("1"), FeedbackSetting(kind: .constant, base: 1))
        XCTAssertEqual(FeedbackSetting.parse("0.5"), FeedbackSetting(kind: .constant, base: 0.5))
        XCTAssertEqual(FeedbackSetting.parse("1/8"), FeedbackSetting(kind: .constant, base: 0.125))
        XCTAssertEqual(FeedbackSetting.parse(" 1 / 4"), FeedbackSetting(kind: .constant, base: 0.25))
        XCTAssertEqual(FeedbackSetting.parse("1/concurrency"), FeedbackSetting(kind: .perWindow, base: 1))
        XCTAssertEqual(FeedbackSetting.parse("1/Concurrency"), FeedbackSetting(kind: .perWindow, base: 1))
        XCTAssertEqual(FeedbackSetting.parse("1/concurrency")?.value(window: 4), 0.25)
        // sscanf stops after a bare number: the rest is ignored, as in stock.
        XCTAssertEqual(FeedbackSetting.parse("0.5abc"), FeedbackSetting(kind: .constant, base: 0.5))
        for bad in ["2", "-1", "x", "", "1/0", "1/", "1/8 ", "1/8x", "1/sqrt_concurrency", "nan", "3/2"] {
            XCTAssertNil(FeedbackSetting.parse(bad), bad)
        }
    }

    func testMalformedFeedbackWarnsAndUsesOne() throws {
        let g = try makeSettings(["smtp_destination_concurrency_negative_feedback": "2",
                                  "default_destination_concurrency_positive_feedback": "1/0"])
        let smtp = try TransportSettings(name: "smtp", globals: g)
        XCTAssertEqual(smtp.negativeFeedback, FeedbackSetting(kind: .constant, base: 1))
        XCTAssertEqual(smtp.positiveFeedback, FeedbackSetting(kind: .constant, base: 1))
        // The transport's name when its value differs from the default's, else the default's name.
        XCTAssertEqual(smtp.logLines, [
            .warning("default_destination_concurrency_positive_feedback: ignoring malformed or unreasonable feedback: 1/0"),
            .warning("smtp_destination_concurrency_negative_feedback: ignoring malformed or unreasonable feedback: 2"),
        ])
    }

    func testFeedbackDebugLinesAtTransportCreation() throws {
        let g = try makeSettings(["destination_concurrency_feedback_debug": "yes",
                                  "smtp_destination_concurrency_negative_feedback": "1/concurrency"])
        let smtp = try TransportSettings(name: "smtp", globals: g)
        XCTAssertEqual(smtp.logLines, [
            .info("smtp: default_destination_concurrency_positive_feedback feedback type 0 value at 5: 1"),
            .info("smtp: smtp_destination_concurrency_negative_feedback feedback type 1 value at 5: 0.2"),
        ])
    }

    func testProjectPolicies() throws {
        XCTAssertEqual(DestinationRateLimit.parse("10/1m"), DestinationRateLimit(count: 10, period: 60))
        XCTAssertEqual(DestinationRateLimit.parse("3/20"), DestinationRateLimit(count: 3, period: 20))
        for bad in ["10", "0/1m", "10/0", "x/1m", "10/1q", "/1m"] { XCTAssertNil(DestinationRateLimit.parse(bad), bad) }
        let g = try makeSettings(["mailhost_default_destination_rate_limit": "5/1m",
                                  "smtp_mailhost_destination_rate_limit": "",
                                  "mailhost_qmgr_retry_jitter": "20"])
        XCTAssertEqual(g.retryJitterPercent, 20)
        XCTAssertEqual(try TransportSettings(name: "relay", globals: g).destinationRateLimit,
                       DestinationRateLimit(count: 5, period: 60))
        XCTAssertNil(try TransportSettings(name: "smtp", globals: g).destinationRateLimit)
        XCTAssertThrowsError(try makeSettings(["mailhost_qmgr_retry_jitter": "101"]))
        XCTAssertThrowsError(try makeSettings(["mailhost_qmgr_retry_jitter": "-1"]))
    }
}
