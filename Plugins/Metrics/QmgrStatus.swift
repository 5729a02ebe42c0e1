// QmgrStatus.swift - our qmgr's query document (Sources/QmgrQuery,
// QueryDocument.swift is its schema) as metric families.
//
// Guarantees: fields this reader does not know are ignored and a missing one
// leaves its sample out (the schema lets new fields appear without a version
// change); a document that does not parse gives only `mailhost_qmgr_up 0`.
// Deliveries by status are the qmgr's counters of how its delivery requests
// ended (per transport and result, requests and recipients); they restart
// from 0 when the qmgr does, as Prometheus counters may.
import QmgrQuery

enum QmgrStatus {
    static func families(_ document: [UInt8]?) -> [MetricFamily] {
        var up = MetricFamily("mailhost_qmgr_up", .gauge, "Whether our qmgr's query socket answered this scrape with a document.")
        guard let document, let root = try? JSONValue.parse(document), root["transports"]?.array != nil else {
            up.add([], 0)
            return [up]
        }
        up.add([], 1)
        var active = MetricFamily("mailhost_qmgr_active_messages", .gauge, "Messages in the active queue.")
        var activeLimit = MetricFamily("mailhost_qmgr_active_message_limit", .gauge, "qmgr_message_active_limit.")
        var recipients = MetricFamily("mailhost_qmgr_active_recipients", .gauge, "Recipients in the active queue.")
        var recipientLimit = MetricFamily("mailhost_qmgr_active_recipient_limit", .gauge, "qmgr_message_recipient_limit.")
        let occupancy = root["active"]
        occupancy?["messages"]?.int.map { active.add([], Double($0)) }
        occupancy?["message_limit"]?.int.map { activeLimit.add([], Double($0)) }
        occupancy?["recipients"]?.int.map { recipients.add([], Double($0)) }
        occupancy?["recipient_limit"]?.int.map { recipientLimit.add([], Double($0)) }

        var transportLimit = MetricFamily("mailhost_qmgr_transport_concurrency_limit", .gauge,
                                          "<transport>_destination_concurrency_limit.")
        var transportBusy = MetricFamily("mailhost_qmgr_transport_busy_deliveries", .gauge, "Deliveries in flight on the transport.")
        var transportPending = MetricFamily("mailhost_qmgr_transport_pending_connections", .gauge,
                                            "Delivery agent connections asked for and not yet ready.")
        var transportDead = MetricFamily("mailhost_qmgr_transport_throttled", .gauge, "1 while the transport is throttled (dead).")
        var window = MetricFamily("mailhost_qmgr_destination_concurrency_window", .gauge, "The destination's concurrency window now.")
        var busy = MetricFamily("mailhost_qmgr_destination_busy_deliveries", .gauge, "Entries of the destination in flight.")
        var todo = MetricFamily("mailhost_qmgr_destination_todo_entries", .gauge, "Entries of the destination waiting.")
        var todoRecipients = MetricFamily("mailhost_qmgr_destination_todo_recipients", .gauge, "Recipients in the waiting entries.")
        var state = MetricFamily("mailhost_qmgr_destination_state", .gauge,
                                 "1 for the destination's state: ready, throttled (dead) or suspended (rate delay).")
        for transport in root["transports"]?.array ?? [] {
            guard let name = transport["name"]?.string else { continue }
            let labels: Labels = [("transport", name)]
            transport["concurrency_limit"]?.int.map { transportLimit.add(labels, Double($0)) }
            transport["busy"]?.int.map { transportBusy.add(labels, Double($0)) }
            transport["pending"]?.int.map { transportPending.add(labels, Double($0)) }
            if let reason = transport["dead_reason"] { transportDead.add(labels, reason.isNull ? 0 : 1) }
            for destination in transport["destinations"]?.array ?? [] {
                guard let site = destination["name"]?.string else { continue }
                let siteLabels = labels + [("destination", site)]
                destination["window"]?.int.map { window.add(siteLabels, Double($0)) }
                destination["busy"]?.int.map { busy.add(siteLabels, Double($0)) }
                destination["todo"]?.int.map { todo.add(siteLabels, Double($0)) }
                destination["todo_recipients"]?.int.map { todoRecipients.add(siteLabels, Double($0)) }
                destination["state"]?.string.map { state.add(siteLabels + [("state", $0)], 1) }
            }
        }
        var requests = MetricFamily("mailhost_qmgr_delivery_requests", .counter,
                                    "Delivery requests by how the agent's reply ended them (ok, deferred, crashed, unsent).")
        var requestRecipients = MetricFamily("mailhost_qmgr_delivery_recipients", .counter,
                                             "Recipients in those delivery requests, by the same result.")
        for delivery in root["deliveries"]?.array ?? [] {
            guard let transport = delivery["transport"]?.string, let result = delivery["result"]?.string else { continue }
            let labels: Labels = [("transport", transport), ("result", result)]
            delivery["requests"]?.int.map { requests.add(labels, Double($0)) }
            delivery["recipients"]?.int.map { requestRecipients.add(labels, Double($0)) }
        }
        return [up, active, activeLimit, recipients, recipientLimit, transportLimit, transportBusy, transportPending,
                transportDead, window, busy, todo, todoRecipients, state, requests, requestRecipients]
    }
}
