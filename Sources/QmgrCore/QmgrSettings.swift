// QmgrSettings: the queue manager's global parameters — every scheduler
// parameter of qmgr(8), read once at start-up as stock's qmgr main() and
// qmgr_post_init() do. Guarantees: stock's defaults, ranges and default time
// units (src/qmgr/qmgr.c tables, src/global/mail_params.h); stock's two
// start-up adjustments with their warnings; a bad value is a thrown
// QmgrConfigError with stock's fatal text. Per-transport values are in
// TransportSettings.
//
// Beyond stock (project parameters, prefix `mailhost_`, off by default so a
// drop-in installation behaves as stock):
// - mailhost_qmgr_retry_jitter (0, percent 0..100): a deferred message's next
//   retry is its stock delay times a random factor in [1 − p/100, 1 + p/100],
//   so a backlog deferred at once is not retried all at once (RetryJitter).
// - mailhost_default_destination_rate_limit (empty) and
//   <transport>_mailhost_destination_rate_limit: "N/period" deliveries per
//   destination, without stock's rate delay's concurrency 1
//   (DestinationRateLimit).

public struct QmgrSettings {
    // Intake (leaky bucket).
    public var activeLimit: Int                 // qmgr_message_active_limit
    public var recipientLimit: Int              // qmgr_message_recipient_limit
    public var recipientMinimum: Int            // qmgr_message_recipient_minimum
    // Time (seconds).
    public var queueRunDelay: Int               // queue_run_delay
    public var minimalBackoffTime: Int          // minimal_backoff_time
    public var maximalBackoffTime: Int          // maximal_backoff_time
    public var maximalQueueLifetime: Int        // maximal_queue_lifetime
    public var bounceQueueLifetime: Int         // bounce_queue_lifetime
    public var transportRetryTime: Int          // transport_retry_time
    public var clogWarnTime: Int                // qmgr_clog_warn_time (0 = off)
    public var daemonTimeout: Int               // qmgr_daemon_timeout
    public var ipcTimeout: Int                  // qmgr_ipc_timeout
    // Defaults of the per-transport values (TransportSettings).
    public var transportRecipientLimit: Int     // default_recipient_limit
    public var extraRecipientLimit: Int         // default_extra_recipient_limit
    public var recipientRefillLimit: Int        // default_recipient_refill_limit
    public var recipientRefillDelay: Int        // default_recipient_refill_delay
    public var deliverySlotCost: Int            // default_delivery_slot_cost
    public var deliverySlotLoan: Int            // default_delivery_slot_loan
    public var deliverySlotDiscount: Int        // default_delivery_slot_discount
    public var minimumDeliverySlots: Int        // default_minimum_delivery_slots
    public var initialConcurrency: Int          // initial_destination_concurrency
    public var concurrencyLimit: Int            // default_destination_concurrency_limit
    public var destinationRecipientLimit: Int   // default_destination_recipient_limit
    public var localConcurrencyLimit: Int       // local_destination_concurrency_limit (2)
    public var localRecipientLimit: Int         // local_destination_recipient_limit (1)
    public var failedCohortLimit: Int           // default_destination_concurrency_failed_cohort_limit
    public var positiveFeedback: String         // default_destination_concurrency_positive_feedback
    public var negativeFeedback: String         // default_destination_concurrency_negative_feedback
    public var transportRateDelay: Int          // default_transport_rate_delay
    public var destinationRateDelay: Int        // default_destination_rate_delay
    public var destinationRateLimit: DestinationRateLimit?  // mailhost_default_destination_rate_limit
    // Other behaviour.
    public var verifyPendingLimit: Int          // address_verify_pending_request_limit
    public var deferTransports: [String]        // defer_transports (for QmgrQueue's LoadSettings)
    public var defaultFilterNexthop: String     // default_filter_nexthop
    public var feedbackDebug: Bool              // destination_concurrency_feedback_debug
    public var confirmDelayCleared: Bool        // confirm_delay_cleared
    public var disableVerpBounces: Bool         // disable_verp_bounces
    public var helpfulWarnings: Bool            // helpful_warnings
    public var allowMinUser: Bool               // allow_min_user
    public var retryJitterPercent: Int          // mailhost_qmgr_retry_jitter

    /// Warnings stock logs at start-up for adjusted values, in its wording.
    public private(set) var warnings: [String] = []
    /// The lookup the per-transport values are read through.
    let reader: ParameterReader

    public init(lookup: @escaping (String) -> String?) throws(QmgrConfigError) {
        let p = ParameterReader(lookup: lookup)
        reader = p
        activeLimit = try p.integer("qmgr_message_active_limit", default: 20000, minimum: 1)
        recipientLimit = try p.integer("qmgr_message_recipient_limit", default: 20000, minimum: 1)
        recipientMinimum = try p.integer("qmgr_message_recipient_minimum", default: 10, minimum: 1)
        queueRunDelay = try p.seconds("queue_run_delay", default: 300, minimum: 1)
        minimalBackoffTime = try p.seconds("minimal_backoff_time", default: 300, minimum: 1)
        maximalBackoffTime = try p.seconds("maximal_backoff_time", default: 4000, minimum: 1)
        maximalQueueLifetime = try p.seconds("maximal_queue_lifetime", default: 5 * 86400, unit: "d", maximum: 8_640_000)
        bounceQueueLifetime = try p.seconds("bounce_queue_lifetime", default: 5 * 86400, unit: "d", maximum: 8_640_000)
        transportRetryTime = try p.seconds("transport_retry_time", default: 60, minimum: 1)
        clogWarnTime = try p.seconds("qmgr_clog_warn_time", default: 300)
        daemonTimeout = try p.seconds("qmgr_daemon_timeout", default: 1000, minimum: 1)
        ipcTimeout = try p.seconds("qmgr_ipc_timeout", default: 60, minimum: 1)
        transportRecipientLimit = try p.integer("default_recipient_limit", default: 20000)
        extraRecipientLimit = try p.integer("default_extra_recipient_limit", default: 1000)
        recipientRefillLimit = try p.integer("default_recipient_refill_limit", default: 100, minimum: 1)
        recipientRefillDelay = try p.seconds("default_recipient_refill_delay", default: 5, minimum: 1)
        deliverySlotCost = try p.integer("default_delivery_slot_cost", default: 5)
        deliverySlotLoan = try p.integer("default_delivery_slot_loan", default: 3)
        deliverySlotDiscount = try p.integer("default_delivery_slot_discount", default: 50, maximum: 100)
        minimumDeliverySlots = try p.integer("default_minimum_delivery_slots", default: 3)
        initialConcurrency = try p.integer("initial_destination_concurrency", default: 5, minimum: 1)
        concurrencyLimit = try p.integer("default_destination_concurrency_limit", default: 20)
        destinationRecipientLimit = try p.integer("default_destination_recipient_limit", default: 50)
        localRecipientLimit = try p.integer("local_destination_recipient_limit", default: 1)
        localConcurrencyLimit = try p.integer("local_destination_concurrency_limit", default: 2)
        failedCohortLimit = try p.integer("default_destination_concurrency_failed_cohort_limit", default: 1)
        positiveFeedback = try p.string("default_destination_concurrency_positive_feedback", default: "1",
                                        minimumLength: 1)
        negativeFeedback = try p.string("default_destination_concurrency_negative_feedback", default: "1",
                                        minimumLength: 1)
        transportRateDelay = try p.seconds("default_transport_rate_delay", default: 0)
        destinationRateDelay = try p.seconds("default_destination_rate_delay", default: 0)
        destinationRateLimit = try p.rateLimit("mailhost_default_destination_rate_limit", default: nil)
        verifyPendingLimit = try p.integer("address_verify_pending_request_limit", default: 20000 / 4, minimum: 1)
        deferTransports = QmgrSettings.words(try p.string("defer_transports", default: ""))
        defaultFilterNexthop = try p.string("default_filter_nexthop", default: "")
        feedbackDebug = try p.boolean("destination_concurrency_feedback_debug", default: false)
        confirmDelayCleared = try p.boolean("confirm_delay_cleared", default: false)
        disableVerpBounces = try p.boolean("disable_verp_bounces", default: false)
        helpfulWarnings = try p.boolean("helpful_warnings", default: true)
        allowMinUser = try p.boolean("allow_min_user", default: false)
        retryJitterPercent = try p.integer("mailhost_qmgr_retry_jitter", default: 0, maximum: 100)
        if retryJitterPercent < 0 {
            throw .integerBelowMinimum(name: "mailhost_qmgr_retry_jitter", value: retryJitterPercent, minimum: 0)
        }
        adjustAsStockDoes()
    }

    /// qmgr_post_init's sanity adjustments.
    private mutating func adjustAsStockDoes() {
        if recipientLimit < activeLimit {
            warnings.append("qmgr_message_recipient_limit is smaller than qmgr_message_active_limit"
                + " - adjusting qmgr_message_recipient_limit")
            recipientLimit = activeLimit
        }
        if bounceQueueLifetime > maximalQueueLifetime {
            warnings.append("bounce_queue_lifetime is larger than maximal_queue_lifetime"
                + " - adjusting bounce_queue_lifetime")
            bounceQueueLifetime = maximalQueueLifetime
        }
    }

    /// A list as argv_split(value, ", \t\r\n") makes it.
    static func words(_ text: String) -> [String] {
        text.utf8.split(whereSeparator: { $0 == 0x2C || $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) })
            .map { String(decoding: $0, as: UTF8.self) }
    }
}

extension ParameterReader {
    /// A project `N/period` rate limit; empty means off.
    func rateLimit(_ name: String, default value: DestinationRateLimit?) throws(QmgrConfigError) -> DestinationRateLimit? {
        guard let text = lookup(name) else { return value }
        if text.isEmpty { return nil }
        guard let limit = DestinationRateLimit.parse(text) else { throw .badRateLimit(name: name, value: text) }
        return limit
    }
}
