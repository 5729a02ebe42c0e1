// PostmultiOptions: postmulti(1)'s command line (getopt "+ae:g:i:G:I:lpRvx").
// Guarantees: the combination rules and refusal texts of stock postmulti.

struct PostmultiOptions {
    var all = false, group: String?, instance: String?
    var newGroup: String?, newName: String?
    var list = false, wrapper = false, execute = false, reverse = false, verbose = 0
    var action: String?
    var command: [String] = []

    static let actions = ["create", "destroy", "import", "deport", "enable", "disable", "assign", "init"]

    static func parse(_ args: [String]) throws -> PostmultiOptions {
        var o = PostmultiOptions()
        var i = 0
        var selections = 0
        func value(_ rest: inout [Character]) throws -> String {
            if !rest.isEmpty { defer { rest = [] }; return String(rest) }
            guard i < args.count else { throw PostmultiError(usage) }
            i += 1
            return args[i - 1]
        }
        while i < args.count, args[i].hasPrefix("-"), args[i].count > 1 {
            let arg = args[i]; i += 1
            if arg == "--" { break }
            var rest = Array(arg.dropFirst())
            while !rest.isEmpty {
                switch rest.removeFirst() {
                case "a": o.all = true; selections += 1
                case "g": o.group = try value(&rest); selections += 1
                case "i": o.instance = try value(&rest); selections += 1
                case "G":
                    if o.newGroup != nil { throw PostmultiError("Specify at most one '-G' option") }
                    o.newGroup = try value(&rest)
                case "I":
                    if o.newName != nil { throw PostmultiError("Specify at most one '-I' option") }
                    o.newName = try value(&rest)
                case "e": o.action = try value(&rest)
                case "l": o.list = true
                case "p": o.wrapper = true
                case "x": o.execute = true
                case "R": o.reverse.toggle()
                case "v": o.verbose += 1
                default: throw PostmultiError(usage)
                }
            }
        }
        o.command = Array(args[i...])
        try o.validate(selections: selections)
        return o
    }

    static let usage = "Usage:postmulti -l [-v] [-a] [-g group] [-i instance] | postmulti -p [-v] [-a] [-g group] [-i instance] command... | postmulti -x [-v] [-a] [-i name] [-g group] command... | postmulti -e action [-v] [-a|-i name|-g group] [-I name] [-G group] [param=value ...]"

    func validate(selections: Int) throws {
        if selections > 1 { throw PostmultiError("Specity no more than one of '-a', '-g', '-i'") }
        let modes = [list, wrapper, execute, action != nil].filter { $0 }.count
        if modes != 1 { throw PostmultiError("Specify exactly one of '-e', '-l', '-p', '-x'") }
        if list && !command.isEmpty { throw PostmultiError("Command not allowed with '-l'") }
        if (wrapper || execute) && command.isEmpty { throw PostmultiError("Command required with '-p' or '-x' option") }
        if (wrapper || action != nil) && reverse { throw PostmultiError("The '-p' and '-e' options preclude the use of '-R'") }
        if let a = action {
            guard Self.actions.contains(a) else {
                throw PostmultiError("Invalid '-e' edit action '\(a)'. Specify 'create', 'destroy', 'import', 'deport', 'enable', 'disable', 'assign' or 'init'")
            }
            if newName != nil || newGroup != nil, !["create", "import", "assign"].contains(a) {
                throw PostmultiError("Cannot assign instance name or group with '-e \(a)'")
            }
            if a == "assign" && newName == nil && newGroup == nil {
                throw PostmultiError("Specify new instance name or group with '-e assign'")
            }
            if !command.isEmpty && !["create", "import"].contains(a) {
                throw PostmultiError("Parameter overrides not valid with '-e \(a)'")
            }
        } else if newName != nil || newGroup != nil {
            throw PostmultiError("Cannot assign instance name or group without '-e assign'")
        }
    }
}
