// ConcurrencyFeedback: slow start and the concurrency window of a
// destination (reference 5.7). Positive feedback (a delivery without a site
// problem) grows the window by the feedback value per delivery while it is
// below both the limit and busy + initial concurrency; negative feedback (a
// site problem) shrinks it, never below 1, and adds 1/window to the failed
// pseudo-cohorts: at the failed cohort limit (0 = never) the destination is
// declared dead for minimal_backoff_time. Guarantees: stock's arithmetic,
// including the feedback/2 overshoot guards and the ≥ cohort test; with
// destination_concurrency_feedback_debug, stock's debug lines (not for the
// error and retry transports).

extension Scheduler {
    /// qmgr_queue_unthrottle: positive feedback, or a dead destination revived.
    func unthrottleQueue(_ queue: DestinationQueue, now: Double) {
        let name = "qmgr_queue_unthrottle"
        queue.failCohorts = 0
        if queue.isThrottled {
            clearQueueTimer(queue, retry: true)
            queue.deadStatus = nil
            queue.window = queue.busy.count > 0 ? queue.busy.count : queue.transport.settings.initialConcurrency
            queue.success = 0
            queue.failure = 0
            logWindow(name, queue)
            return
        }
        guard queue.isReady else { return }
        let s = queue.transport.settings
        if (s.concurrencyLimit == 0 || s.concurrencyLimit > queue.window)
            && queue.window < queue.busy.count + s.initialConcurrency {
            let feedback = s.positiveFeedback.value(window: queue.window)
            logFeedback(name, queue, feedback)
            queue.success += feedback
            while queue.success + feedback / 2 >= 1 {
                queue.window += 1
                queue.success -= 1
                queue.failure = 0
            }
            if s.concurrencyLimit > 0 && queue.window > s.concurrencyLimit { queue.window = s.concurrencyLimit }
        }
        logWindow(name, queue)
    }

    /// qmgr_queue_throttle: negative feedback for a ready destination.
    func throttleQueue(_ queue: DestinationQueue, status: SiteStatus, now: Double) {
        guard queue.isReady else { return }
        let name = "qmgr_queue_throttle"
        let s = queue.transport.settings
        queue.failCohorts += 1 / Double(queue.window)
        if s.failedCohortLimit > 0 && queue.failCohorts >= Double(s.failedCohortLimit) {
            queue.window = DestinationQueue.throttled
        }
        if queue.isReady {
            let feedback = s.negativeFeedback.value(window: queue.window)
            logFeedback(name, queue, feedback)
            queue.failure -= feedback
            while queue.failure - feedback / 2 < 0 {
                queue.window -= 1
                queue.success = 0
                queue.failure += 1
            }
            if queue.window < 1 { queue.window = 1 }
        }
        if queue.isThrottled {
            queue.deadStatus = status
            queue.retryAt = now + Double(settings.minimalBackoffTime)
            timedQueues[ObjectIdentifier(queue)] = queue
            queue.deliveryFlags = 0
        }
        logWindow(name, queue)
    }

    private func logsFeedback(_ queue: DestinationQueue) -> Bool {
        settings.feedbackDebug && queue.transport.name != Scheduler.retryTransport && queue.transport.name != "error"
    }

    private func logFeedback(_ function: String, _ queue: DestinationQueue, _ feedback: Double) {
        guard logsFeedback(queue) else { return }
        log(.info("\(function): feedback \(CFormat.g(feedback))"))
    }

    private func logWindow(_ function: String, _ queue: DestinationQueue) {
        guard logsFeedback(queue) else { return }
        log(.info("\(function): queue \(queue.name): limit \(queue.transport.settings.concurrencyLimit) "
            + "window \(queue.window) success \(CFormat.g(queue.success)) failure \(CFormat.g(queue.failure)) "
            + "fail_cohorts \(CFormat.g(queue.failCohorts))"))
    }
}
