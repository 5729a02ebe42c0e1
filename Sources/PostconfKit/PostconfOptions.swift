// PostconfOptions: the postconf(1) command line, as far as this project
// implements it, and stock's rules for combining options.
// Guarantees: clustered flags ("-nh", "-Mf") and "-c dir" / "-cdir" parse as
// with getopt; options may follow operands (glibc permutes) until "--";
// a flag this project does not implement is a PostconfError.usage naming it.
// The mode is made explicit as stock does (no major mode: main.cf; a major
// mode among main.cf/-M/-F/-P whose first operand holds "=": an edit, as if
// -e were given), then checked: flags that exclude each other ("specify one
// of ...") and modifiers a major mode does not take ("with option -X, do not
// specify ..."), both naming the flags in stock's order.

public struct PostconfMode: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Every flag in stock's order, which is the order diagnostics name them in.
    static let flags: [(flag: Character, mode: PostconfMode)] = [
        ("a", .saslServer), ("A", .saslClient), ("b", .expandTemplates), ("C", .parameterClass),
        ("d", .defaults), ("e", .edit), ("f", .fold), ("F", .fields), ("h", .hideName),
        ("H", .hideValue), ("l", .locks), ("m", .maps), ("M", .master), ("n", .nonDefault),
        ("o", .override), ("p", .main), ("P", .serviceParameters), ("t", .dumpTemplates),
        ("T", .tls), ("x", .expand), ("X", .remove), ("#", .commentOut),
    ]
    static func bit(_ i: UInt32) -> PostconfMode { PostconfMode(rawValue: 1 << i) }
    public static let saslServer = bit(0), saslClient = bit(1), expandTemplates = bit(2), parameterClass = bit(3)
    public static let defaults = bit(4), edit = bit(5), fold = bit(6), fields = bit(7), hideName = bit(8)
    public static let hideValue = bit(9), locks = bit(10), maps = bit(11), master = bit(12), nonDefault = bit(13)
    public static let override = bit(14), main = bit(15), serviceParameters = bit(16), dumpTemplates = bit(17)
    public static let tls = bit(18), expand = bit(19), remove = bit(20), commentOut = bit(21)

    /// The flags this project implements.
    static let implemented: PostconfMode = [.defaults, .edit, .fold, .fields, .hideName, .hideValue, .master,
                                            .nonDefault, .main, .serviceParameters, .expand, .remove, .commentOut]
    static let masterTables: PostconfMode = [.master, .fields, .serviceParameters]
    static let anyEdit: PostconfMode = [.edit, .remove, .commentOut]

    /// At most one flag of each group.
    static let exclusive: [PostconfMode] = [
        [.saslServer, .saslClient, .expandTemplates, .locks, .maps, .dumpTemplates, .main, .master, .fields,
         .serviceParameters, .tls],
        [.defaults, .edit, .nonDefault, .commentOut, .remove],
        [.fold, .edit, .commentOut, .remove],
        [.expand, .edit, .commentOut, .remove],
        [.override, .defaults, .edit, .commentOut, .remove],
        [.hideName, .edit, .commentOut, .remove, .hideValue],
    ]

    /// Each major mode and the only modifiers it takes.
    static let compatible: [(PostconfMode, PostconfMode)] = [
        (.saslServer, []), (.saslClient, []), (.expandTemplates, []), (.locks, []), (.maps, []), (.tls, []),
        (.dumpTemplates, []),
        (.main, [.edit, .remove, .commentOut, .fold, .hideName, .parameterClass, .expand, .defaults,
                 .nonDefault, .override, .hideValue]),
        (.master, [.edit, .remove, .commentOut, .fold, .override, .expand]),
        (.fields, [.edit, .fold, .hideName, .override, .expand, .hideValue]),
        (.serviceParameters, [.edit, .remove, .fold, .hideName, .override, .expand, .hideValue]),
        (.parameterClass, [.main, .defaults, .nonDefault]),
    ]

    /// "-d -n": the flags of this set, in stock's order.
    var names: String {
        Self.flags.filter { contains($0.mode) }.map { "-" + String($0.flag) }.joined(separator: " ")
    }
}

public struct PostconfOptions: Equatable, Sendable {
    public var configDirectory: String?
    public var mode: PostconfMode = []
    public var operands: [String] = []

    public init() {}

    public var defaults: Bool { mode.contains(.defaults) }
    public var nonDefault: Bool { mode.contains(.nonDefault) }
    public var valuesOnly: Bool { mode.contains(.hideName) }
    public var namesOnly: Bool { mode.contains(.hideValue) }
    public var expand: Bool { mode.contains(.expand) }
    public var edit: Bool { mode.contains(.edit) }
    public var remove: Bool { mode.contains(.remove) }
    public var commentOut: Bool { mode.contains(.commentOut) }
    public var master: Bool { mode.contains(.master) }
    public var fields: Bool { mode.contains(.fields) }
    public var serviceParameters: Bool { mode.contains(.serviceParameters) }
    public var fold: Bool { mode.contains(.fold) }
    public var isMasterTable: Bool { !mode.isDisjoint(with: PostconfMode.masterTables) }
    public var isEdit: Bool { !mode.isDisjoint(with: PostconfMode.anyEdit) }

    /// Parses, makes the mode explicit and checks it as stock does.
    public static func parse(_ arguments: [String]) throws -> PostconfOptions {
        var options = try scan(arguments)
        options.makeModeExplicit()
        try options.mode.checkCombination()
        if options.edit && options.operands.isEmpty { throw PostconfError.fatal("-e requires name=value argument") }
        return options
    }

    static func scan(_ arguments: [String]) throws -> PostconfOptions {
        var options = PostconfOptions()
        var i = 0
        var onlyOperands = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if onlyOperands || !arg.hasPrefix("-") || arg == "-" {
                options.operands.append(arg); continue
            }
            if arg == "--" { onlyOperands = true; continue }
            var flags = Array(arg.dropFirst())
            while !flags.isEmpty {
                let flag = flags.removeFirst()
                if flag == "c" {
                    if !flags.isEmpty { options.configDirectory = String(flags); flags = [] }
                    else if i < arguments.count { options.configDirectory = arguments[i]; i += 1 }
                    else { throw PostconfError.usage("option requires an argument -- 'c'") }
                    continue
                }
                guard let known = PostconfMode.flags.first(where: { $0.flag == flag }),
                      PostconfMode.implemented.contains(known.mode) else {
                    throw PostconfError.usage("unsupported option -- '\(flag)'")
                }
                options.mode.insert(known.mode)
            }
        }
        return options
    }

    /// No major mode means main.cf; "name=value" as the first operand means -e.
    mutating func makeModeExplicit() {
        let majors = PostconfMode.exclusive[0]
        if mode.isDisjoint(with: majors) { mode.insert(.main) }
        if !mode.isDisjoint(with: PostconfMode.masterTables.union(.main)),
           let first = operands.first, first.contains("=") {
            mode.insert(.edit)
        }
    }
}

extension PostconfMode {
    /// Stock's two checks, in its order: exclusive groups, then compatibility.
    func checkCombination() throws {
        for group in Self.exclusive {
            let present = intersection(group)
            if present.rawValue.nonzeroBitCount > 1 { throw PostconfError.fatal("specify one of \(present.names)") }
        }
        for (major, allowed) in Self.compatible where !isDisjoint(with: major) {
            let excess = subtracting(major).subtracting(allowed)
            if !excess.isEmpty {
                throw PostconfError.fatal("with option \(major.names), do not specify \(excess.names)")
            }
        }
    }
}

public enum PostconfError: Error, CustomStringConvertible, Equatable {
    case usage(String)
    case fatal(String)
    /// A fatal error that stock announces with warnings first (the macro expander's detail).
    case fatalAfter(warnings: [String], String)
    public var description: String {
        switch self {
        case .usage(let text), .fatal(let text), .fatalAfter(_, let text): return text
        }
    }
}
