// MainConfig: one parsed main.cf plus optional "-o name=value" overrides.
// Guarantees: values are stored raw, as written, and expanded only when read
// (like Postfix); overrides beat the file, the file beats built-in defaults;
// parse errors carry the stock "<path>, line N: ..." wording; a repeated
// name with a different value yields the stock "overriding earlier entry"
// warning and the last value wins.

public struct MainConfig: Sendable {
    public let path: String                 // "<dir>/main.cf"
    public let configDirectory: String
    public let warnings: [String]

    private var fileValues: [String: String]
    private var fileOrder: [String]
    private var overrideValues: [String: String] = [:]
    private var overrideOrder: [String] = []

    private init(path: String, configDirectory: String, warnings: [String],
                 fileValues: [String: String], fileOrder: [String]) {
        self.path = path
        self.configDirectory = configDirectory
        self.warnings = warnings
        self.fileValues = fileValues
        self.fileOrder = fileOrder
    }

    /// Reads and parses "<configDirectory>/main.cf".
    public static func load(configDirectory: String) throws -> MainConfig {
        let path = joinPath(configDirectory, "main.cf")
        return try parse(text: try readConfigFile(path), path: path, configDirectory: configDirectory)
    }

    public static func parse(text: String, path: String, configDirectory: String) throws -> MainConfig {
        var warnings: [String] = []
        let lines = LogicalLines.split(text, path: path) { warnings.append($0) }
        // Like stock, the dictionary starts out holding config_directory, so
        // a main.cf setting of it is an "override" of the directory in use.
        var values: [String: String] = ["config_directory": configDirectory]
        var order: [String] = []
        var seen: Set<String> = []
        for line in lines {
            let (name, value) = try splitNameValue(line, path: path)
            if let old = values[name], old != value {
                warnings.append("\(path), line \(line.number): overriding earlier entry: \(name)=\(old)")
            }
            if seen.insert(name).inserted { order.append(name) }
            values[name] = value
        }
        return MainConfig(path: path, configDirectory: configDirectory, warnings: warnings,
                          fileValues: values, fileOrder: order)
    }

    /// `name = value` with the stock error texts for the two ways it can fail.
    static func splitNameValue(_ line: LogicalLine, path: String) throws -> (String, String) {
        switch NameValue.split(line.text) {
        case .success(let pair):
            return pair
        case .failure(let problem):
            throw ConfigError("\(path), line \(line.number): \(problem.text): \"\(line.text)\"")
        }
    }

    /// Names set in the file (file order), then names only set by overrides.
    public var explicitNames: [String] {
        fileOrder + overrideOrder.filter { fileValues[$0] == nil }
    }

    /// The value as written in main.cf (or an override), nil if absent.
    public func rawValue(_ name: String) -> String? {
        overrideValues[name] ?? fileValues[name]
    }

    /// Copy in which `overrides` (later pairs win) take precedence over the file.
    public func with(overrides: [(String, String)]) -> MainConfig {
        var copy = self
        for (name, value) in overrides {
            if copy.overrideValues[name] == nil { copy.overrideOrder.append(name) }
            copy.overrideValues[name] = value
        }
        return copy
    }

    // MARK: expansion

    /// Expanded value: explicit setting, else built-in default, else "".
    public func value(_ name: String) throws -> String {
        try expand(rawValue(name) ?? defaultValue(name) ?? "")
    }

    /// Expands arbitrary text against this configuration (same rules as `value`).
    public func expand(_ text: String) throws -> String {
        try expand(text, hiding: [])
    }

    /// `hiding` names are treated as undefined: it breaks the mutual
    /// dependency of the computed myhostname/mydomain defaults.
    private func expand(_ text: String, hiding: Set<String>) throws -> String {
        let expander = MacroExpander { name in
            if hiding.contains(name) { return nil }
            return try self.rawValue(name) ?? self.defaultValue(name, hiding: hiding)
        }
        do {
            return try expander.expand(text)
        } catch let failure as MacroFailure {
            throw ConfigError("dictionary mail_dict: macro processing error", warnings: [failure.warning])
        }
    }

    /// Parameters whose default is computed against this file, not a table entry.
    static let computedDefaults: Set<String> = ["mynetworks", "myhostname", "mydomain"]

    /// True when main.cf sets the parameter or Postfix defines a default for it.
    public func isDefined(_ name: String) -> Bool {
        rawValue(name) != nil || MainConfig.computedDefaults.contains(name) || ParameterDefaults.value(name) != nil
    }

    /// Built-in default, with the host-name defaults and mynetworks computed
    /// against this file (MyNetworks; what stock refuses there throws).
    func defaultValue(_ name: String, hiding: Set<String> = []) throws -> String? {
        switch name {
        case "mynetworks":
            return try MyNetworks.compute(style: expand(rawValue("mynetworks_style") ?? defaultValue("mynetworks_style") ?? "", hiding: hiding),
                                          interfaces: expand(rawValue("inet_interfaces") ?? defaultValue("inet_interfaces") ?? "", hiding: hiding),
                                          protocols: expand(rawValue("inet_protocols") ?? defaultValue("inet_protocols") ?? "", hiding: hiding))
        case "myhostname":
            let domain = rawValue("mydomain").flatMap {
                try? expand($0, hiding: hiding.union(["myhostname"]))
            }
            return ParameterDefaults.defaultHostname(mydomain: domain)
        case "mydomain":
            let host = rawValue("myhostname").flatMap {
                try? expand($0, hiding: hiding.union(["mydomain"]))
            } ?? ParameterDefaults.defaultHostname(mydomain: nil)
            return ParameterDefaults.domainPart(of: host)
        default:
            return ParameterDefaults.value(name)
        }
    }
}

/// "<dir>/<file>", spelled exactly as stock builds it (a trailing "/" on
/// the directory is not collapsed), so error texts match.
func joinPath(_ directory: String, _ file: String) -> String {
    directory + "/" + file
}
