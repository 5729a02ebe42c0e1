// PostconfOptions: the postconf(1) command line subset this project supports.
// Guarantees: clustered flags ("-nh", "-Mf") and "-c dir" / "-cdir" parse as
// with getopt; options may follow operands (glibc permutes) until "--";
// anything unsupported is a PostconfError.usage naming the flag.

public struct PostconfOptions: Equatable, Sendable {
    public var configDirectory: String?
    public var defaults = false          // -d
    public var nonDefault = false        // -n
    public var valuesOnly = false        // -h
    public var namesOnly = false         // -H
    public var expand = false            // -x
    public var edit = false              // -e
    public var remove = false            // -X
    public var commentOut = false        // -#
    public var master = false            // -M
    public var fields = false            // -F
    public var serviceParameters = false // -P
    public var fold = false              // -f (accepted, output is not folded)
    public var operands: [String] = []

    public init() {}

    public static func parse(_ arguments: [String]) throws -> PostconfOptions {
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
                try options.set(flag)
            }
        }
        return options
    }

    private mutating func set(_ flag: Character) throws {
        switch flag {
        case "d": defaults = true
        case "n": nonDefault = true
        case "h": valuesOnly = true
        case "H": namesOnly = true
        case "x": expand = true
        case "e": edit = true
        case "X": remove = true
        case "#": commentOut = true
        case "M": master = true
        case "F": fields = true
        case "P": serviceParameters = true
        case "f": fold = true
        default: throw PostconfError.usage("unsupported option -- '\(flag)'")
        }
    }
}

public enum PostconfError: Error, CustomStringConvertible, Equatable {
    case usage(String)
    case fatal(String)
    public var description: String {
        switch self {
        case .usage(let text): return text
        case .fatal(let text): return text
        }
    }
}
