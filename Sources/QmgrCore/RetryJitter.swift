// RetryJitter: the project's opt-in spread of retry times
// (mailhost_qmgr_retry_jitter, percent, default 0). Stock's backoff (the
// message's age clamped to [minimal_backoff_time, maximal_backoff_time],
// QmgrDelivery.RetryBackoff) sends a backlog deferred at once back at once;
// the jitter multiplies that delay by a factor in [1 − p/100, 1 + p/100].
// Guarantees: with 0 percent the delay is returned unchanged, whatever the
// draw; otherwise the result is within ±p% of it (rounded to whole seconds)
// and at least 1 second. The caller supplies the random draw, so the
// computation itself is deterministic.

public enum RetryJitter {
    /// `random` is a uniform draw from [0, 1] (e.g. `Double.random(in: 0...1)`):
    /// 0 gives the shortest delay, 1 the longest, 0.5 the unjittered one.
    public static func apply(to delay: Int, settings: QmgrSettings, random: Double) -> Int {
        guard settings.retryJitterPercent > 0 else { return delay }
        let spread = Double(settings.retryJitterPercent) / 100
        let factor = 1 + spread * (2 * min(max(random, 0), 1) - 1)
        return max(1, Int((Double(delay) * factor).rounded()))
    }
}
