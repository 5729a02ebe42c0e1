// NewInstance: the postmulti(1) half of `-e create` and `-e import`: which
// instance is added, with which directories and name, and where in the list.
// Guarantees (stock's refusals and texts): -I/-G values are checked for safe
// characters, "/" and the "postfix-" prefix; only config_directory (and, for
// create, queue_directory and data_directory) may be given as absolute
// name=value settings, trailing slashes trimmed and "/" refused; missing
// directories are derived from the primary's by replacing the last path
// component with the new name; import reads the instance's own main.cf;
// every name and directory is claimed against all other instances; the new
// instance goes before the first secondary matched by -a/-g/-i, else last.

struct NameChanges {
    /// nil: unchanged; "": cleared; else the new value.
    var name: String?
    var group: String?
    var isEmpty: Bool { name == nil && group == nil }
}

enum NewInstance {
    static let safePunctuation = Set("!@%-_=+:./")

    /// -I and -G as stock checks them ("-" was already turned into "").
    static func checkAssignments(name: String?, group: String?) throws {
        if let n = name, !n.isEmpty {
            if !isSafe(n) { throw PostmultiError("Unsafe characters in new instance name: '\(n)'") }
            if n.contains("/") { throw PostmultiError("Illegal '/' character in new instance name: '\(n)'") }
            if !n.hasPrefix("postfix-") { throw PostmultiError("New instance name must start with 'postfix-'") }
        }
        if let g = group, !g.isEmpty, !isSafe(g) { throw PostmultiError("Unsafe characters in '-G \(g)'") }
    }

    static func isSafe(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { c in
            (c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)))
                || safePunctuation.contains(Character(c))
        }
    }

    /// Adds the new instance to `list` and returns it with the name changes to write.
    static func add(_ action: String, options: PostmultiOptions, to list: inout InstanceList) throws -> (Instance, NameChanges) {
        let name = options.newName.map { $0 == "-" ? "" : $0 }
        let group = options.newGroup.map { $0 == "-" ? "" : $0 }
        try checkAssignments(name: name, group: group)
        var dirs: [String: String] = [:]
        for arg in options.command { try assign(arg, action: action, into: &dirs) }
        let primary = list.primary
        let config = try dirs["config_directory"] ?? privatePath("config_directory", primary.configDirectory, name)
        if let owner = list.claims.owner(of: config) {
            throw PostmultiError("new config_directory=\(config) is already in use by instance \(owner)=\(config)")
        }
        var instance: Instance
        if action == "import" {
            instance = try InstanceList.loadSecondary(config, commandDirectory: list.primarySettings.commandDirectory)
        } else {
            instance = Instance(configDirectory: config,
                                queueDirectory: try dirs["queue_directory"] ?? privatePath("queue_directory", primary.queueDirectory, name),
                                dataDirectory: try dirs["data_directory"] ?? privatePath("data_directory", primary.dataDirectory, name),
                                name: nil, group: nil, enabled: false, isPrimary: false)
        }
        var changes = NameChanges()
        if let n = name, n != (instance.name ?? "") {
            try list.claims.claim(config, "multi_instance_name", n)
            instance.name = n.isEmpty ? nil : n
            changes.name = n
        }
        if let g = group, g != (instance.group ?? "") {
            instance.group = g.isEmpty ? nil : g
            changes.group = g
        }
        try insert(instance, options: options, into: &list)
        return (instance, changes)
    }

    /// One "name=value" directory setting from the command line.
    static func assign(_ arg: String, action: String, into dirs: inout [String: String]) throws {
        guard let eq = arg.firstIndex(of: "=") else { throw PostmultiError("Malformed parameter setting '\(arg)'") }
        let name = trimmed(String(arg[..<eq])), rawValue = trimmed(String(arg[arg.index(after: eq)...]))
        if name.isEmpty { throw PostmultiError("Malformed parameter setting '\(arg)'") }
        let allowed = action == "import" ? ["config_directory"] : ["config_directory", "queue_directory", "data_directory"]
        guard allowed.contains(name) else { throw PostmultiError("Parameter '\(name)' not valid with action \(action)") }
        guard rawValue.hasPrefix("/") else { throw PostmultiError("Parameter setting '\(name)' is not an absolute path") }
        var value = rawValue
        while value.count > 1 && value.hasSuffix("/") { value.removeLast() }
        if value == "/" { throw PostmultiError("Parameter setting '\(name)' is the root directory") }
        dirs[name] = value
    }

    /// The primary's directory with its last component replaced by the new name.
    static func privatePath(_ param: String, _ primaryValue: String, _ name: String?) throws -> String {
        guard let n = name, !n.isEmpty else { throw PostmultiError("Missing \(param) parameter value") }
        guard primaryValue.hasPrefix("/") else {
            throw PostmultiError("Invalid default \(param) parameter value: '\(primaryValue)': specify an absolute pathname")
        }
        var base = primaryValue
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        if let slash = base.lastIndex(of: "/") { base = String(base[..<slash]) }
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/" + n
    }

    static func insert(_ instance: Instance, options: PostmultiOptions, into list: inout InstanceList) throws {
        try list.claims.claim(instance)
        let selecting = options.all || options.group != nil || options.instance != nil
        if selecting {
            let at = list.instances.indices.dropFirst().first { i in
                let other = list.instances[i]
                if options.all { return true }
                if let g = options.group { return other.group == g }
                return options.instance.map(other.matches) ?? false
            }
            if let at = at {
                list.instances.insert(instance, at: at)
                return
            }
            if !options.all { throw PostmultiError("No matching secondary instances") }
        }
        list.instances.append(instance)
    }

    static func trimmed(_ s: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
        guard let a = s.firstIndex(where: { !isSpace($0) }), let b = s.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(s[a...b])
    }
}
