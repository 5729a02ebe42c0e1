// RetryTime: when a deferred message is tried again and when it expires
// (reference 5.12, 5.13). Stock's backoff is the message's age clamped to
// [minimal_backoff_time, maximal_backoff_time] (so it roughly doubles per
// attempt); the project's opt-in mailhost_qmgr_retry_jitter spreads it by up
// to ± that percentage. Guarantees: with jitter 0 the result is stock's,
// whatever the random source; with jitter it stays within ±p% of stock's
// (rounded to whole seconds) and is at least 1 second; the caller supplies
// the random draw, so the computation itself is deterministic.

public enum RetryTime {
    /// Seconds from `now` to the next attempt (the deferred file's mtime
    /// offset); `createTime` ≤ 0 (unknown) gives minimal_backoff_time.
    public static func delay(now: Int, createTime: Int, settings: QmgrSettings) -> Int {
        guard createTime > 0 else { return settings.minimalBackoffTime }
        return max(settings.minimalBackoffTime, min(now - createTime, settings.maximalBackoffTime))
    }

    /// The same with mailhost_qmgr_retry_jitter applied. `random` is a
    /// uniform draw from [0, 1] (e.g. `Double.random(in: 0...1)`): 0 gives
    /// the shortest delay, 1 the longest, 0.5 stock's.
    public static func delay(now: Int, createTime: Int, settings: QmgrSettings, random: Double) -> Int {
        let base = delay(now: now, createTime: createTime, settings: settings)
        guard settings.retryJitterPercent > 0 else { return base }
        let spread = Double(settings.retryJitterPercent) / 100
        let factor = 1 + spread * (2 * min(max(random, 0), 1) - 1)
        return max(1, Int((Double(base) * factor).rounded()))
    }

    /// Whether a message with a deferred recipient has outlived its queue
    /// lifetime: bounces (empty sender) use bounce_queue_lifetime.
    public static func isExpired(now: Int, createTime: Int, senderIsEmpty: Bool, settings: QmgrSettings) -> Bool {
        let lifetime = senderIsEmpty ? settings.bounceQueueLifetime : settings.maximalQueueLifetime
        return now >= createTime + lifetime
    }

    /// Whether a delay warning is due: the W record's time is set (> 0) and
    /// at most one second away.
    public static func isDelayWarningDue(now: Int, warnTime: Int) -> Bool {
        warnTime > 0 && now >= warnTime - 1
    }
}
