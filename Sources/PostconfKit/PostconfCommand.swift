// PostconfCommand: runs one postconf(1) invocation (the supported subset).
// Guarantees: edits rewrite main.cf through AtomicFile (or fail with the
// stock "fatal: ..." text and status 1); queries print to stdout
// in stock order and format; warnings go to stderr prefixed "warning: ".

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
            } catch {
                return (1, command.out, command.err + ["fatal: \(error)"])
            }
        } catch {
            return (1, [], ["fatal: \(error)"])
        }
    }

    var mainPath: String { configDirectory + "/main.cf" }
    var masterPath: String { configDirectory + "/master.cf" }

    mutating func execute() throws {
        if options.master || options.fields || options.serviceParameters {
            if options.edit || options.remove || options.commentOut {
                try editMaster()
            } else {
                try queryMaster()
            }
        } else if options.remove || options.commentOut {
            let names = try options.operands.map(Self.bareName)
            try editMain(options.remove ? .remove(names) : .commentOut(names))
        } else if options.edit || (!options.defaults && !options.nonDefault && options.operands.contains(where: { $0.contains("=") })) {
            let pairs = try options.operands.map(Self.nameValue)
            warnRepeatedRequests(pairs)
            try editMain(.set(pairs))
        } else {
            try queryMain()
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
        if options.defaults && options.nonDefault { throw PostconfError.fatal("specify one of -d -n") }
        if options.defaults { return printDefaults() }
        let main: MainConfig
        do { main = try MainConfig.load(configDirectory: configDirectory) } catch { throw PostconfError.fatal("\(error)") }
        err += main.warnings.map { "warning: \($0)" }
        let known = knownParameters(main)
        var explicit = main.explicitNames
        if configDirectory != Self.defaultConfigDirectory && !explicit.contains("config_directory") {
            explicit.append("config_directory")
        }
        let explicitSet = Set(explicit)
        let names: [String]
        if options.operands.isEmpty {
            names = options.nonDefault ? explicit.filter(known.contains).sorted()
                                       : Set(ParameterDefaults.names).union(explicit.filter(known.contains)).sorted()
        } else {
            names = options.operands.filter { name in
                if !known.contains(name) { err.append("warning: \(name): unknown parameter"); return false }
                return !options.nonDefault || explicitSet.contains(name)
            }
        }
        for name in names {
            out.append(ParameterPrinter.line(name: name, value: try shownValue(name, main),
                                             valuesOnly: options.valuesOnly, namesOnly: options.namesOnly))
        }
        for name in main.explicitNames where !known.contains(name) {
            err.append("warning: \(mainPath): unused parameter: \(name)=\(main.rawValue(name) ?? "")")
        }
    }

    func shownValue(_ name: String, _ main: MainConfig) throws -> String {
        let raw = main.rawValue(name) ?? Self.runtimeDefault(name) ?? ParameterDefaults.value(name) ?? ""
        guard options.expand else { return raw }
        do { return try main.expand(raw) } catch { throw PostconfError.fatal("\(error)") }
    }

    /// process_id and process_name, which stock computes for itself.
    static func runtimeDefault(_ name: String) -> String? {
        switch name {
        case "process_id": return String(getpid())
        case "process_name": return "postconf"
        default: return nil
        }
    }

    mutating func printDefaults() {
        let names = options.operands.isEmpty ? ParameterDefaults.names : options.operands
        for name in names {
            guard let value = ParameterDefaults.value(name) else {
                err.append("warning: \(name): unknown parameter"); continue
            }
            out.append(ParameterPrinter.line(name: name, value: value,
                                             valuesOnly: options.valuesOnly, namesOnly: options.namesOnly))
        }
    }

    func knownParameters(_ main: MainConfig) -> KnownParameters {
        let master = (try? readMaster()) ?? []
        let values = main.explicitNames.compactMap { main.rawValue($0) }
        return KnownParameters(mainValues: values, master: master)
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
            let result = try MasterCfEditor.apply(edit, to: old)
            for request in result.unmatched { err.append("warning: unmatched service_name/type: \"\(request)\"") }
            try AtomicFile.replace(masterPath, with: result.text)
        } catch let error as FileError {
            throw PostconfError.fatal(error.description)
        }
    }

    // MARK: master.cf queries

    func readMaster() throws -> [MasterTableEntry] {
        do { return try MasterTable.parse(readConfigFile(masterPath), path: masterPath) } catch {
            throw PostconfError.fatal("\(error)")
        }
    }

    mutating func queryMaster() throws {
        let entries = try readMaster()
        let patterns = options.operands
        var used = Set<String>()
        for entry in entries {
            if options.master {
                let hits = patterns.filter { MasterTable.matches(entry, pattern: $0) }
                used.formUnion(hits)
                guard patterns.isEmpty || !hits.isEmpty else { continue }
                if options.fold, let text = MasterEntryText(words: entry.fields.prefix(7) + entry.words) {
                    out.append(String(text.text().dropLast()))   // -Mf: folded as an edited entry
                } else {
                    out.append(MasterTable.formatEntry(entry))
                }
            } else {
                let lines = options.fields ? MasterTable.fieldLines(entry) : MasterTable.parameterLines(entry)
                for line in lines {
                    let hits = patterns.filter { Self.selects($0, line) }
                    used.formUnion(hits)
                    if patterns.isEmpty || !hits.isEmpty { out.append(line) }
                }
            }
        }
        for pattern in patterns where !used.contains(pattern) {
            err.append("warning: unmatched request: \"\(pattern)\"")
        }
    }

    /// "name/type/field" pattern (components may be "*" or absent) against a -F/-P line.
    static func selects(_ pattern: String, _ line: String) -> Bool {
        let key = line.prefix { $0 != " " }.split(separator: "/", maxSplits: 2).map(String.init)
        let want = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for (i, part) in want.enumerated() where i < key.count && part != "*" && part != key[i] {
            return false
        }
        return true
    }
}
