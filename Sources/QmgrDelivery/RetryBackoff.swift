// RetryBackoff: when a message with recipients to retry is tried again
// (reference 5.12): the delay is the message's age (now - create_time)
// clamped to [minimal_backoff_time, maximal_backoff_time], or the minimum
// when create_time is unknown (<= 0). The queue file's atime and mtime are
// set to now + delay before it moves to deferred; a deferred scan takes
// it when its mtime has passed. Since the age roughly doubles between
// attempts, so does the delay.
public struct RetryBackoff: Equatable, Sendable {
    public var minimal: Int
    public var maximal: Int

    /// Stock's defaults: 300s and 4000s.
    public init(minimal: Int = 300, maximal: Int = 4000) {
        self.minimal = minimal
        self.maximal = maximal
    }

    public func delay(createTime: Int, now: Int) -> Int {
        guard createTime > 0 else { return minimal }
        return max(minimal, min(maximal, now - createTime))
    }

    /// The time stamp to give the deferred file.
    public func wakeup(createTime: Int, now: Int) -> Int { now + delay(createTime: createTime, now: now) }
}
