// TransportSettings: one transport's scheduler values, read when the
// transport is first used (as stock's qmgr_transport_create does): the
// `<transport>_…` parameter when main.cf sets it, else the global default.
// Guarantees: stock's per-transport ranges and fatal texts (names are the
// concatenated `<transport>_…` names, as get_mail_conf_int2 reports them);
// the built-in `local_destination_*` defaults apply to the transport named
// "local"; a destination rate delay forces concurrency limit 1; the initial
// concurrency never exceeds a non-zero limit; feedback values are checked
// with stock's warning.

public struct TransportSettings: Sendable {
    public let name: String
    public var concurrencyLimit: Int            // _destination_concurrency_limit (0 = none)
    public var recipientLimit: Int              // _destination_recipient_limit (0 = none)
    public var initialConcurrency: Int          // _initial_destination_concurrency
    public var transportRateDelay: Int          // _transport_rate_delay
    public var destinationRateDelay: Int        // _destination_rate_delay
    public var slotCost: Int                    // _delivery_slot_cost
    public var slotLoan: Int                    // _delivery_slot_loan
    /// 100 − _delivery_slot_discount.
    public var slotLoanFactor: Int
    public var minimumSlots: Int                // _minimum_delivery_slots
    public var recipientSlots: Int              // _recipient_limit (the transport's slot pool)
    public var extraRecipientSlots: Int         // _extra_recipient_limit
    public var refillLimit: Int                 // _recipient_refill_limit
    public var refillDelay: Int                 // _recipient_refill_delay
    public var positiveFeedback: FeedbackSetting
    public var negativeFeedback: FeedbackSetting
    public var failedCohortLimit: Int           // _destination_concurrency_failed_cohort_limit
    public var destinationRateLimit: DestinationRateLimit?  // _mailhost_destination_rate_limit
    /// Stock's warnings and destination_concurrency_feedback_debug lines from reading these values.
    public private(set) var logLines: [LogLine] = []

    public init(name: String, globals g: QmgrSettings) throws(QmgrConfigError) {
        self.name = name
        let p = g.reader
        let isLocal = name == "local"
        concurrencyLimit = try p.integer(name + "_destination_concurrency_limit",
                                         default: isLocal ? g.localConcurrencyLimit : g.concurrencyLimit)
        recipientLimit = try p.integer(name + "_destination_recipient_limit",
                                       default: isLocal ? g.localRecipientLimit : g.destinationRecipientLimit)
        initialConcurrency = try p.integer(name + "_initial_destination_concurrency",
                                           default: g.initialConcurrency, minimum: 1)
        transportRateDelay = try p.seconds(name + "_transport_rate_delay", default: g.transportRateDelay)
        destinationRateDelay = try p.seconds(name + "_destination_rate_delay", default: g.destinationRateDelay)
        if destinationRateDelay > 0 { concurrencyLimit = 1 }
        if concurrencyLimit != 0 && concurrencyLimit < initialConcurrency { initialConcurrency = concurrencyLimit }
        slotCost = try p.integer(name + "_delivery_slot_cost", default: g.deliverySlotCost)
        slotLoan = try p.integer(name + "_delivery_slot_loan", default: g.deliverySlotLoan)
        slotLoanFactor = 100 - (try p.integer(name + "_delivery_slot_discount", default: g.deliverySlotDiscount,
                                              maximum: 100))
        minimumSlots = try p.integer(name + "_minimum_delivery_slots", default: g.minimumDeliverySlots)
        recipientSlots = try p.integer(name + "_recipient_limit", default: g.transportRecipientLimit)
        extraRecipientSlots = try p.integer(name + "_extra_recipient_limit", default: g.extraRecipientLimit)
        refillLimit = try p.integer(name + "_recipient_refill_limit", default: g.recipientRefillLimit, minimum: 1)
        refillDelay = try p.seconds(name + "_recipient_refill_delay", default: g.recipientRefillDelay, minimum: 1)
        var lines: [LogLine] = []
        positiveFeedback = try TransportSettings.feedback(name, "positive", globalValue: g.positiveFeedback,
                                                          globals: g, log: &lines)
        negativeFeedback = try TransportSettings.feedback(name, "negative", globalValue: g.negativeFeedback,
                                                          globals: g, log: &lines)
        logLines = lines
        failedCohortLimit = try p.integer(name + "_destination_concurrency_failed_cohort_limit",
                                          default: g.failedCohortLimit)
        destinationRateLimit = try p.rateLimit(name + "_mailhost_destination_rate_limit",
                                               default: g.destinationRateLimit)
    }

    /// qmgr_feedback_init: the warning names the transport's parameter only
    /// when its value differs from the default's.
    private static func feedback(_ name: String, _ sign: String, globalValue: String, globals g: QmgrSettings,
                                 log logLines: inout [LogLine]) throws(QmgrConfigError) -> FeedbackSetting {
        let ownName = name + "_destination_concurrency_\(sign)_feedback"
        let defaultName = "default_destination_concurrency_\(sign)_feedback"
        let text = try g.reader.string(ownName, default: globalValue, minimumLength: 1)
        let shownName = text != globalValue ? ownName : defaultName
        let setting: FeedbackSetting
        if let parsed = FeedbackSetting.parse(text) {
            setting = parsed
        } else {
            logLines.append(.warning("\(shownName): ignoring malformed or unreasonable feedback: \(text)"))
            setting = FeedbackSetting(kind: .constant, base: 1)
        }
        if g.feedbackDebug {
            logLines.append(.info("\(name): \(shownName) feedback type \(setting.kind.rawValue) value at "
                + "\(g.initialConcurrency): \(CFormat.g(setting.value(window: g.initialConcurrency)))"))
        }
        return setting
    }
}
