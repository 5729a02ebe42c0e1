// PostconfCommand: runs one postconf(1) invocation (the options this
// project implements: -c -d -e -f -F -h -H -M -n -p -P -x -X -#; not -a -A
// -b -C -l -m -o -t -T -v, which is why it is never installed over stock's).
// Guarantees: edits rewrite main.cf or master.cf through AtomicFile (or fail
// with the stock "fatal: ..." text and status 1, writing nothing); queries
// print to stdout in stock order and format; warnings go to stderr prefixed
// "warning: ", in stock's order (ParameterUsage's registration warnings
// first, then the query's own, then "unused parameter" ones).

#if canImport(Glibc)
import Glibc
#endif
import PostfixConfig

public struct PostconfCommand {
    public static let defaultConfigDirectory = "/etc/postfix"
    let options: PostconfOptions
    let configDirectory: String
    var out: [String] = []
    var err: [String] = []

    /// Parses and runs; returns (exit status, stdout lines, stderr lines).
    /// `program` prefixes diagnostics, as stock uses its argv[0].
    public static func run(arguments: [String], mailConfig: String?,
                           program: String = "postconf") -> (status: Int32, out: [String], err: [String]) {
        let result = runUnprefixed(arguments: arguments, mailConfig: mailConfig)
        return (result.status, result.out, result.err.map { program + ": " + $0 })
    }

    static func runUnprefixed(arguments: [String], mailConfig: String?) -> (status: Int32, out: [String], err: [String]) {
        do {
            let options = try PostconfOptions.parse(arguments)
            var command = PostconfCommand(options: options,
                                          configDirectory: options.configDirectory ?? mailConfig ?? defaultConfigDirectory)
            do {
                try command.execute()
                return (0, command.out, command.err)
            } catch PostconfError.fatalAfter(let warnings, let text) {
                return (1, command.out, command.err + warnings.map { "warning: " + $0 } + ["fatal: " + text])
            } catch {
                return (1, command.out, command.err + ["fatal: \(error)"])
            }
        } catch {
            return (1, [], ["fatal: \(error)"])
        }
    }

    var mainPath: String { configDirectory + "/main.cf" }
    var masterPath: String { configDirectory + "/master.cf" }

    /// Stock's dispatch: master.cf queries, edits of either file, main.cf queries.
    mutating func execute() throws {
        if options.isMasterTable && !options.isEdit { return try queryMaster() }
        guard options.isEdit else { return try queryMain() }
        if options.operands.isEmpty { throw PostconfError.fatal("missing service argument") }
        if options.isMasterTable { return try editMaster() }
        if options.remove || options.commentOut {
            let names = try options.operands.map(Self.bareName)
            try editMain(options.remove ? .remove(names) : .commentOut(names))
        } else {
            let pairs = try options.operands.map(Self.nameValue)
            warnRepeatedRequests(pairs)
            try editMain(.set(pairs))
        }
    }

    // MARK: editing

    static func bareName(_ arg: String) throws -> String {
        let name = trim(arg)
        if name.isEmpty { throw PostconfError.fatal("-X or -# requires non-blank parameter names") }
        if name.contains("=") { throw PostconfError.fatal("-X or -# requires parameter names without value") }
        return name
    }

    static func nameValue(_ arg: String) throws -> (String, String) {
        guard let eq = arg.firstIndex(of: "=") else {
            throw PostconfError.fatal("missing '=' after attribute name: \"\(trim(arg))\"")
        }
        let name = trim(String(arg[..<eq]))
        guard !name.isEmpty else { throw PostconfError.fatal("missing attribute name: \"\(trim(arg))\"") }
        return (name, trim(String(arg[arg.index(after: eq)...])))
    }

    /// Stock keeps the last of repeated "-e name=..." requests and says so.
    mutating func warnRepeatedRequests(_ pairs: [(String, String)]) {
        var seen: [String: String] = [:]
        for (name, value) in pairs {
            if let old = seen[name] { err.append("warning: ignoring earlier request: '\(name) = \(old)'") }
            seen[name] = value
        }
    }

    func editMain(_ edit: MainCfEdit) throws {
        do {
            // Stock creates the temporary first, then needs main.cf to exist.
            try AtomicFile.probeDirectory(of: mainPath)
            guard let old = try AtomicFile.readIfPresent(mainPath) else {
                throw FileError("open \(mainPath) for reading: \(errorText(ENOENT))")
            }
            try AtomicFile.replace(mainPath, with: MainCfEditor.apply(edit, to: old))
        } catch let error as FileError {
            throw PostconfError.fatal(error.description)
        }
    }

    // MARK: main.cf queries

    mutating func queryMain() throws {
        if options.defaults { return try printDefaults() }
        let main = try readMain()
        let master = try readMaster(required: false)
        let usage = parameterUsage(main, master, registerUser: true)
        var explicit = usage.mainNames
        if configDirectory != Self.defaultConfigDirectory && !explicit.contains("config_directory") {
            explicit.append("config_directory")
        }
        let explicitSet = Set(explicit)
        let names: [String]
        if options.operands.isEmpty {
            names = options.nonDefault ? explicit.filter(usage.isKnown).sorted()
                                       : usage.listedNames.union(explicit.filter(usage.isKnown)).sorted()
        } else {
            names = options.operands.filter { name in
                if !usage.isKnown(name) { err.append("warning: \(name): unknown parameter"); return false }
                return !options.nonDefault || explicitSet.contains(name)
            }
        }
        for name in names {
            out.append(ParameterPrinter.line(name: name, value: try shownValue(name, main, usage), valuesOnly: options.valuesOnly,
                                             namesOnly: options.namesOnly, fold: options.fold))
        }
        err += (usage.unusedMain + usage.unusedMaster).map { "warning: " + $0 }
    }

    /// A main.cf of this text (postconf -d: none, so that only defaults apply).
    func readMainText(_ text: String) throws -> MainConfig {
        do { return try MainConfig.parse(text: text, path: mainPath, configDirectory: configDirectory) } catch {
            throw PostconfError.fatal("\(error)")
        }
    }

    func readMain() throws -> MainConfig {
        do { return try MainConfig.load(configDirectory: configDirectory) } catch { throw PostconfError.fatal("\(error)") }
    }

    /// Registration of user-defined parameters, with its warnings.
    mutating func parameterUsage(_ main: MainConfig, _ master: [MasterTableEntry], registerUser: Bool) -> ParameterUsage {
        let usage = ParameterUsage(main: main, master: master, configDirectory: configDirectory, registerUser: registerUser)
        err += main.warnings.map { "warning: \($0)" } + usage.warnings.map { "warning: \($0)" }
        return usage
    }

    /// The value shown: as set, else the default; expanded with -x (raw parameters never are).
    func shownValue(_ name: String, _ main: MainConfig, _ usage: ParameterUsage) throws -> String {
        let set = ParameterUsage.isReadOnly(name) ? nil : main.rawValue(name)
        let value = try set ?? Self.runtimeDefault(name) ?? computedDefault(name, main) ?? usage.defaultValue(name) ?? ""
        guard options.expand && !ParameterUsage.isRaw(name) else { return value }
        return try expanded(value, main)
    }

    /// -x: `value` expanded against `main`, failing as stock does.
    func expanded(_ value: String, _ main: MainConfig) throws -> String {
        do { return try main.expand(value) } catch let error as ConfigError {
            if error.warnings.isEmpty { throw PostconfError.fatal(error.message) }   // e.g. mynetworks' own refusals
            throw PostconfError.fatalAfter(warnings: error.warnings, "macro processing error")
        }
    }

    /// mynetworks, computed from the interfaces as main.cf's settings select them.
    func computedDefault(_ name: String, _ main: MainConfig) throws -> String? {
        guard name == "mynetworks" else { return nil }
        do { return try main.value(name) } catch { throw PostconfError.fatal("\(error)") }
    }

    /// process_id and process_name, which stock computes for itself.
    static func runtimeDefault(_ name: String) -> String? {
        switch name {
        case "process_id": return String(getpid())
        case "process_name": return "postconf"
        default: return nil
        }
    }

    mutating func printDefaults() throws {
        let master = try readMaster(required: false)
        let usage = parameterUsage(try readMainText(""), master, registerUser: false)
        let names = options.operands.isEmpty ? usage.listedNames.sorted() : options.operands
        let defaults = try readMainText("")
        for name in names {
            guard var value = try Self.runtimeDefault(name) ?? computedDefault(name, defaults) ?? usage.defaultValue(name) else {
                err.append("warning: \(name): unknown parameter"); continue
            }
            if options.expand && !ParameterUsage.isRaw(name) { value = try expanded(value, defaults) }
            out.append(ParameterPrinter.line(name: name, value: value, valuesOnly: options.valuesOnly,
                                             namesOnly: options.namesOnly, fold: options.fold))
        }
    }

    // MARK: master.cf editing

    mutating func editMaster() throws {
        let table: MasterCfRequests.Table = options.master ? .master : options.fields ? .fields : .parameters
        let action: MasterCfRequests.Action = options.edit ? .set : options.remove ? .remove : .comment
        let edit = try MasterCfRequests.edit(table, action, options.operands)
        do {
            try AtomicFile.probeDirectory(of: masterPath)
            guard let old = try AtomicFile.readIfPresent(masterPath) else {
                throw FileError("open \(masterPath) for reading: \(errorText(ENOENT))")
            }
            let result = try MasterCfEditor.apply(edit, to: old, path: masterPath)
            for request in result.unmatched { err.append("warning: unmatched service_name/type: \"\(request)\"") }
            try AtomicFile.replace(masterPath, with: result.text)
        } catch let error as FileError {
            throw PostconfError.fatal(error.description)
        }
    }

    // MARK: master.cf queries

    /// The master.cf entries; a missing file is fatal when `required`, else
    /// (main.cf queries) a warning and no entries, as stock.
    mutating func readMaster(required: Bool) throws -> [MasterTableEntry] {
        let text: String
        do { text = try readConfigFile(masterPath) } catch {
            if required { throw PostconfError.fatal("\(error)") }
            err.append("warning: \(error)")
            return []
        }
        do { return try MasterTable.parse(text, path: masterPath) } catch { throw PostconfError.fatal("\(error)") }
    }

    mutating func queryMaster() throws {
        let master = try readMaster(required: true)
        let main = try readMain()
        let usage = parameterUsage(main, master, registerUser: true)
        let query = MasterQuery(mode: options.mode, entries: master, settings: usage.entrySettings, main: main)
        let result = try query.run(options.operands)
        out += result.out
        err += result.warnings.map { "warning: " + $0 } + usage.unusedMaster.map { "warning: " + $0 }
    }
}
