// PostfixOptions: postfix(1)'s command line, `postfix [-c dir] [-Dv] command [args]`.
// Guarantees: options stop at the first non-option (or "--"), like getopt
// with a leading "+"; the errors are stock's texts.

enum PostfixOptionError: Error, CustomStringConvertible {
    case usage, relative, unknown(Character)
    var description: String {
        switch self {
        case .usage, .unknown: return "usage: postfix [-c config_dir] [-Dv] command"
        case .relative: return "-c requires absolute pathname"
        }
    }
}

struct PostfixOptions {
    var configDirectory: String?
    var debug = false
    var verbose = 0
    var command: [String] = []

    static func parse(_ args: [String]) throws -> PostfixOptions {
        var options = PostfixOptions()
        var i = 0
        scan: while i < args.count {
            let arg = args[i]
            if arg == "--" { i += 1; break }
            guard arg.hasPrefix("-"), arg.count > 1 else { break }
            i += 1
            var flags = Array(arg.dropFirst())
            while !flags.isEmpty {
                switch flags.removeFirst() {
                case "D": options.debug = true
                case "v": options.verbose += 1
                case "c":
                    let dir: String
                    if !flags.isEmpty { dir = String(flags); flags = [] }
                    else if i < args.count { dir = args[i]; i += 1 }
                    else { throw PostfixOptionError.usage }
                    guard dir.hasPrefix("/") else { throw PostfixOptionError.relative }
                    options.configDirectory = dir
                case let other: throw PostfixOptionError.unknown(other)
                }
            }
            continue scan
        }
        options.command = Array(args[i...])
        return options
    }
}
