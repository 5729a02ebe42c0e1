// ClogWarning: stock's warning that one destination takes up more than a
// fifth of the active queue (reference 5.14), checked when an entry is
// created, with stock's advice lines in stock's wording and order.
// Guarantees: at most one warning per destination per qmgr_clog_warn_time;
// none when helpful_warnings is off or qmgr_clog_warn_time is 0.

extension Scheduler {
    func warnIfClogged(_ queue: DestinationQueue, now: Double) {
        guard settings.helpfulWarnings, settings.clogWarnTime > 0 else { return }
        let length = queue.todo.count + queue.busy.count
        guard length > settings.activeLimit / 5, now >= queue.clogTimeToWarn else { return }
        let messages = max(1, messageCount)
        let share = Double(length) / Double(messages)
        var lines = ["mail for \(queue.nexthop) is using up \(length) of \(messageCount) active queue entries"]
        if share < 0.9 { lines.append("this may slow down other mail deliveries") }
        let transport = queue.transport, limit = transport.settings.concurrencyLimit
        if limit > 0 && limit <= queue.busy.count + 1 {
            lines.append("you may need to increase the main.cf \(transport.name)_destination_concurrency_limit from \(limit)")
        } else if Double(queue.window) > Double(settings.activeLimit) * share {
            lines.append("you may need to increase the main.cf qmgr_message_active_limit from \(settings.activeLimit)")
        } else if transport.queues.count > 1 {
            lines.append("you may need a separate master.cf transport for \(queue.nexthop)")
        } else {
            lines += ["you may need to reduce \(transport.name) connect and helo timeouts",
                      "so that Postfix quickly skips unavailable hosts",
                      "you may need to increase the main.cf minimal_backoff_time and maximal_backoff_time",
                      "so that Postfix wastes less time on undeliverable mail",
                      "you may need to increase the master.cf \(transport.name) process limit"]
        }
        lines += ["please avoid flushing the whole queue when you have",
                  "lots of deferred mail, that is bad for performance",
                  "to turn off these warnings specify: qmgr_clog_warn_time = 0"]
        for line in lines { log(.warning(line)) }
        queue.clogTimeToWarn = now + Double(settings.clogWarnTime)
    }
}
