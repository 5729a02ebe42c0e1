// ParameterUsage: which main.cf and master.cf ("-o name=value") settings
// postconf counts as used, and the warnings it prints about them.
// Guarantees (observed on stock 3.7.11 postconf):
// - known everywhere: built-in parameters, the computed ones (mynetworks,
//   process_id, process_name), legacy names the built-in defaults refer to,
//   and per-service parameters of master.cf
//   delivery services (local, error, virtual, smtp, lmtp, pipe: <service>_
//   <suffix>; pipe and spawn: <service>_time_limit), unless a built-in
//   parameter has that name (local_destination_concurrency_limit keeps 2);
// - a user-defined name is used when a "$name" refers to it: a reference in
//   main.cf (an explicit value, or the default of a built-in parameter left
//   at its default) validates a main.cf setting of that name and the setting
//   in every master.cf entry that has one; a reference in a master.cf -o value
//   validates the entry's own setting, else a main.cf setting; names listed
//   in smtpd_restriction_classes count as references;
// - values of raw parameters (mailbox_command and the like) are not scanned;
// - process_id, process_name and service_name cannot be set: such a setting
//   draws "read-only parameter assignment" and is otherwise ignored;
// - a reference to a name with no setting anywhere and no built-in default
//   draws "undefined parameter" (naming the file of the reference);
// - warnings come in scan order: master.cf entries in file order, then
//   main.cf; "unused parameter" warnings name settings left unvalidated, in
//   file order (stock prints each file's, and each entry's, in hash order).

import PostfixConfig

public struct ParameterUsage {
    public enum Scope: Equatable { case main, entry(Int) }

    let configDirectory: String
    let builtins: Set<String>
    var serviceDefaults: [String: String] = [:]
    var mainSettings: [(String, String)]
    var entrySettings: [[(String, String)]]
    var userValid: Set<String> = []
    var entryValid: [Set<String>]
    /// "read-only" and "undefined" warnings, in scan order (no "warning: " prefix).
    public private(set) var warnings: [String] = []

    /// With `registerUser` false (postconf -d) only built-in and per-service names are known.
    public init(main: MainConfig, master: [MasterTableEntry], configDirectory: String, registerUser: Bool) {
        self.configDirectory = configDirectory
        for entry in master {
            for (name, value) in Self.serviceParameters(entry) where serviceDefaults[name] == nil && !Self.builtIn.contains(name) {
                serviceDefaults[name] = value
            }
        }
        builtins = Self.builtIn.union(serviceDefaults.keys)
        mainSettings = main.explicitNames.map { ($0, main.rawValue($0) ?? "") }
        entrySettings = master.map(\.parameters)
        entryValid = Array(repeating: [], count: master.count)
        guard registerUser else { return }
        for index in master.indices { scanEntry(index) }
        scanDefaults(master)
        scanMain(main)
    }

    /// main.cf's settings in file order, without read-only ones.
    public var mainNames: [String] { mainSettings.map(\.0) }

    public func isKnown(_ name: String) -> Bool { builtins.contains(name) || userValid.contains(name) }

    /// "unused parameter" warnings for main.cf settings.
    public var unusedMain: [String] {
        mainSettings.filter { !isKnown($0.0) }.map { "\(configDirectory)/main.cf: unused parameter: \($0.0)=\($0.1)" }
    }

    /// "unused parameter" warnings for master.cf -o settings.
    public var unusedMaster: [String] {
        entrySettings.indices.flatMap { i in
            entrySettings[i].filter { !isKnown($0.0) && !entryValid[i].contains($0.0) }
                .map { "\(configDirectory)/master.cf: unused parameter: \($0.0)=\($0.1)" }
        }
    }

    // MARK: tables

    static let computed: Set<String> = ["mynetworks", "process_id", "process_name"]
    /// Built-in, computed, and legacy names: those the built-in defaults refer
    /// to without being parameters of their own (e.g. fallback_relay); stock
    /// knows them (default empty) but lists them only when set.
    static let builtIn: Set<String> = {
        let legacy = tableNames.flatMap { references(in: ParameterDefaults.value($0) ?? "") }
        return Set(tableNames).union(computed).union(legacy)
    }()

    /// The built-in table without the per-service parameters of Debian's own
    /// master.cf (relay_recipient_limit, ...), which it was generated with:
    /// stock knows those only for services that the master.cf at hand has.
    static let tableNames: [String] = ParameterDefaults.names.filter { name in
        !serviceSuffixes.contains { suffix in
            name.hasSuffix("_" + suffix.name) && ParameterDefaults.value(name) == suffix.defaultValue
        }
    }

    static let serviceSuffixes: [(name: String, defaultValue: String)] =
        deliverySuffixes.map { ($0, $0 == "initial_destination_concurrency" ? "$" + $0 : "$default_" + $0) }
        + [("time_limit", "$command_time_limit")]

    /// Names `postconf` lists with no operands (with -n: only those set).
    public var listedNames: Set<String> { Set(Self.tableNames).union(Self.computed).union(serviceDefaults.keys) }

    /// The default of a known parameter, unexpanded ("" for legacy names), nil if unknown.
    public func defaultValue(_ name: String) -> String? {
        if let value = serviceDefaults[name] { return value }
        guard builtins.contains(name) else { return isKnown(name) ? "" : nil }
        return Self.computed.contains(name) ? nil : (ParameterDefaults.value(name) ?? "")
    }

    public static func isRaw(_ name: String) -> Bool { raw.contains(name) }
    public static func isReadOnly(_ name: String) -> Bool { readOnly.contains(name) }
    static let readOnly: Set<String> = ["process_id", "process_name", "service_name"]
    /// Parameters whose values Postfix never expands, so postconf does not scan them.
    static let raw: Set<String> = [
        "command_execution_directory", "default_rbl_reply", "forward_path", "luser_relay", "mailbox_command",
        "postscreen_expansion_filter", "postscreen_reject_footer", "smtpd_expansion_filter", "smtpd_reject_footer",
    ]
    static let deliveryCommands: Set<String> = ["local", "error", "virtual", "smtp", "lmtp", "pipe"]
    /// Suffixes of delivery services' parameters; each defaults to "$default_<suffix>",
    /// except initial_destination_concurrency (to itself); pipe and spawn add time_limit.
    static let deliverySuffixes = [
        "delivery_slot_cost", "delivery_slot_discount", "delivery_slot_loan",
        "destination_concurrency_failed_cohort_limit", "destination_concurrency_limit",
        "destination_concurrency_negative_feedback", "destination_concurrency_positive_feedback",
        "destination_rate_delay", "destination_recipient_limit", "extra_recipient_limit",
        "initial_destination_concurrency", "minimum_delivery_slots", "recipient_limit",
        "recipient_refill_delay", "recipient_refill_limit", "transport_rate_delay",
    ]

    /// Per-service parameters of one master.cf entry, with their defaults.
    static func serviceParameters(_ entry: MasterTableEntry) -> [(name: String, value: String)] {
        guard let command = entry.words.first else { return [] }
        var result: [(name: String, value: String)] = []
        if deliveryCommands.contains(command) {
            result = serviceSuffixes.dropLast().map { (entry.name + "_" + $0.name, $0.defaultValue) }
        }
        if command == "pipe" || command == "spawn", let limit = serviceSuffixes.last {
            result.append((entry.name + "_" + limit.name, limit.defaultValue))
        }
        return result
    }

    // MARK: scanning

    mutating func scanEntry(_ index: Int) {
        let settings = entrySettings[index]
        if let classes = settings.last(where: { $0.0 == "smtpd_restriction_classes" })?.1 {
            for name in Self.listItems(classes) { reference(name, from: .entry(index)) }
        }
        entrySettings[index] = keepAssignable(settings, file: "master.cf")
        for (name, value) in entrySettings[index] where !Self.raw.contains(name) {
            for referenced in Self.references(in: value) { reference(referenced, from: .entry(index)) }
        }
    }

    /// Defaults of built-in and per-service parameters that main.cf leaves alone.
    mutating func scanDefaults(_ master: [MasterTableEntry]) {
        let explicit = Set(mainSettings.map(\.0))
        let defaults = ParameterDefaults.names.compactMap { name in ParameterDefaults.value(name).map { (name, $0) } }
            + master.flatMap(Self.serviceParameters)
        for (name, value) in defaults where !explicit.contains(name) && !Self.raw.contains(name) {
            for referenced in Self.references(in: value) { reference(referenced, from: .main) }
        }
    }

    mutating func scanMain(_ main: MainConfig) {
        if let classes = mainSettings.last(where: { $0.0 == "smtpd_restriction_classes" })?.1 {
            for name in Self.listItems((try? main.expand(classes)) ?? classes) { reference(name, from: .main) }
        }
        mainSettings = keepAssignable(mainSettings, file: "main.cf")
        for (name, value) in mainSettings where !Self.raw.contains(name) {
            for referenced in Self.references(in: value) { reference(referenced, from: .main) }
        }
    }

    /// Drops read-only settings, warning about each.
    mutating func keepAssignable(_ settings: [(String, String)], file: String) -> [(String, String)] {
        settings.filter { name, value in
            guard Self.readOnly.contains(name) else { return true }
            warnings.append("\(configDirectory)/\(file): read-only parameter assignment: \(name)=\(value)")
            return false
        }
    }

    /// A "$name" reference: validates the settings it reaches.
    mutating func reference(_ name: String, from scope: Scope) {
        var supplied = false
        if case .entry(let i) = scope, entrySettings[i].contains(where: { $0.0 == name }) {
            supplied = true
            entryValid[i].insert(name)
        } else if mainSettings.contains(where: { $0.0 == name }) {
            supplied = true
            userValid.insert(name)
        }
        if scope == .main {
            for i in entrySettings.indices where entrySettings[i].contains(where: { $0.0 == name }) {
                supplied = true
                entryValid[i].insert(name)
            }
        }
        if !supplied && !isKnown(name) {
            let file = scope == .main ? "main.cf" : "master.cf"
            warnings.append("\(configDirectory)/\(file): undefined parameter: \(name)")
        }
    }

    static func listItems(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).map(String.init)
    }

    /// Names referenced by $name, ${name...}, $(name...) in a value ("$$" is no reference).
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
