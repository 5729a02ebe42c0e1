// KnownParameters: which main.cf names postconf treats as "used".
// Guarantees: the built-in table, plus (as stock does) every name referenced
// as $name / ${name} / $(name) in a main.cf value, every "-o name=" in
// master.cf, and the per-transport names derived from delivery-agent services
// in master.cf (e.g. relay_destination_concurrency_limit).

import PostfixConfig

public struct KnownParameters: Sendable {
    private var names: Set<String>

    public init(mainValues: [String], master: [MasterTableEntry]) {
        names = Set(ParameterDefaults.names).union(Self.hostDependent)
        for value in mainValues { names.formUnion(Self.references(in: value)) }
        for entry in master {
            for (name, value) in entry.parameters {
                names.insert(name)
                names.formUnion(Self.references(in: value))
            }
            names.formUnion(Self.transportNames(entry))
        }
    }

    public func contains(_ name: String) -> Bool { names.contains(name) }

    /// Known to stock, but with defaults computed at run time (absent from the table).
    static let hostDependent: Set<String> = ["mynetworks", "process_id", "process_name"]

    static let agentCommands: Set<String> = ["smtp", "lmtp", "local", "virtual", "pipe"]
    static let transportSuffixes = [
        "delivery_slot_cost", "delivery_slot_discount", "delivery_slot_loan",
        "destination_concurrency_failed_cohort_limit", "destination_concurrency_limit",
        "destination_concurrency_negative_feedback", "destination_concurrency_positive_feedback",
        "destination_rate_delay", "destination_recipient_limit", "extra_recipient_limit",
        "initial_destination_concurrency", "minimum_delivery_slots", "recipient_limit",
        "recipient_refill_delay", "recipient_refill_limit", "transport_rate_delay",
    ]

    static func transportNames(_ entry: MasterTableEntry) -> [String] {
        guard entry.type == "unix", let command = entry.words.first,
              agentCommands.contains(command) else { return [] }
        var result = transportSuffixes.map { entry.name + "_" + $0 }
        if command == "pipe" { result.append(entry.name + "_time_limit") }
        return result
    }

    /// Names referenced by $name, ${name...}, $(name...) in a value.
    static func references(in value: String) -> [String] {
        let bytes = Array(value.utf8)
        var result: [String] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count else { i += 1; continue }
            var j = i + 1
            if bytes[j] == UInt8(ascii: "$") { i = j + 1; continue }
            if bytes[j] == UInt8(ascii: "{") || bytes[j] == UInt8(ascii: "(") { j += 1 }
            while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
            let start = j
            while j < bytes.count, isNameByte(bytes[j]) { j += 1 }
            if j > start { result.append(String(decoding: bytes[start..<j], as: UTF8.self)) }
            i = max(j, i + 1)
        }
        return result
    }

    static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
    }
}
