// DestinationRateLimit: the beyond-stock `N/period` rate limit per destination
// (parameter `<transport>_mailhost_destination_rate_limit`, default from
// `mailhost_default_destination_rate_limit`, empty = off) and the token bucket
// that enforces it. Unlike stock's `_destination_rate_delay`, it does not
// force concurrency 1: up to N deliveries may start back to back (a burst of
// N) and then one more every period/N, while the concurrency window still
// limits how many run at once. Guarantees: never more than N + t·N/period
// deliveries start in any interval of length t; off costs nothing.
import PostfixConfig

public struct DestinationRateLimit: Equatable, Sendable {
    /// Deliveries per period.
    public let count: Int
    /// The period, in seconds.
    public let period: Int

    public init(count: Int, period: Int) {
        self.count = count
        self.period = period
    }

    /// "N/period" with period a time value ("1m", "60s", "60"); nil when malformed.
    public static func parse(_ text: String) -> DestinationRateLimit? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let count = ValueSyntax.integer(String(parts[0])), count > 0,
              let period = ValueSyntax.seconds(String(parts[1]), defaultUnit: UInt8(ascii: "s")), period > 0
        else { return nil }
        return DestinationRateLimit(count: count, period: period)
    }

    /// Tokens per second.
    var refillRate: Double { Double(count) / Double(period) }
}

/// One destination's bucket: starts full, one token per delivery started.
struct TokenBucket {
    let limit: DestinationRateLimit
    private(set) var tokens: Double
    private var updatedAt: Double

    init(limit: DestinationRateLimit, now: Double) {
        self.limit = limit
        tokens = Double(limit.count)
        updatedAt = now
    }

    /// Whole tokens available at `now`.
    mutating func available(now: Double) -> Int {
        refill(now: now)
        return Int(tokens.rounded(.down))
    }

    mutating func take(now: Double) {
        refill(now: now)
        tokens -= 1
    }

    /// When the next whole token is there (now when one is).
    mutating func nextToken(now: Double) -> Double {
        refill(now: now)
        if tokens >= 1 { return now }
        return now + (1 - tokens) / limit.refillRate
    }

    /// When the bucket is full again (now when it is).
    mutating func fullAt(now: Double) -> Double {
        refill(now: now)
        let missing = Double(limit.count) - tokens
        return missing <= 0 ? now : now + missing / limit.refillRate
    }

    private mutating func refill(now: Double) {
        guard now > updatedAt else { return }
        tokens = min(Double(limit.count), tokens + (now - updatedAt) * limit.refillRate)
        updatedAt = now
    }
}
