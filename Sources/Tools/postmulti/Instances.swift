// Instances: the primary (default) instance and the secondaries listed in its
// multi_instance_directories, as postmulti(1) sees them.
// Guarantees: order is primary first, then list order; the shared directories
// (command, daemon, meta, shlib) must exist as directories when absolute;
// names and private directories are claimed in stock order, so conflicts are
// refused with stock's words; a secondary whose main.cf cannot be read is a
// PostmultiError with stock's wording (preceded by the diagnostic stock's
// `postconf -xc` helper prints); the primary counts as enabled when there are
// no secondaries.

#if canImport(Glibc)
import Glibc
#endif
import PostfixConfig
import ToolSupport

struct Instance {
    var configDirectory: String
    var queueDirectory: String
    var dataDirectory: String
    var name: String?
    var group: String?
    var enabled: Bool
    var isPrimary: Bool

    init(configDirectory: String, queueDirectory: String, dataDirectory: String,
         name: String?, group: String?, enabled: Bool, isPrimary: Bool) {
        self.configDirectory = configDirectory
        self.queueDirectory = queueDirectory
        self.dataDirectory = dataDirectory
        self.name = name
        self.group = group
        self.enabled = enabled
        self.isPrimary = isPrimary
    }

    init(_ settings: InstanceSettings, isPrimary: Bool, hasSecondaries: Bool) throws {
        let n = try settings.value("multi_instance_name"), g = try settings.value("multi_instance_group")
        let enable = try settings.value("multi_instance_enable").lowercased()
        let dir = settings.configDirectory
        if !isPrimary && enable != "yes" && enable != "no" {
            throw PostmultiError("Unexpected \(dir)/main.cf entry: multi_instance_enable = \(enable)")
        }
        self.init(configDirectory: dir, queueDirectory: settings.queueDirectory,
                  dataDirectory: settings.dataDirectory, name: n.isEmpty ? nil : n, group: g.isEmpty ? nil : g,
                  enabled: (isPrimary && !hasSecondaries) || enable == "yes", isPrimary: isPrimary)
    }

    /// Does `-i selector` pick this instance? A path selects by config
    /// directory, a name without "postfix-" matches a prefixed name's suffix,
    /// "-" is the primary.
    func matches(_ selector: String) -> Bool {
        if selector == "-" && isPrimary { return true }
        guard let n = name, !selector.hasPrefix("/") else { return selector == configDirectory }
        if !selector.hasPrefix("postfix-") && n.hasPrefix("postfix-") {
            return selector == String(n.dropFirst("postfix-".count))
        }
        return selector == n
    }
}

struct PostmultiError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// All instances plus the claims they made while loading.
struct InstanceList {
    var instances: [Instance]
    var claims: Claims
    let primarySettings: InstanceSettings

    var primary: Instance { instances[0] }
    var secondaries: ArraySlice<Instance> { instances.dropFirst() }

    static let sharedDirectories = ["command_directory", "daemon_directory", "meta_directory", "shlib_directory"]

    /// The primary's settings and the shared-directory claims only (what
    /// `-e init` needs: it does not look at secondaries).
    static func primaryOnly(_ primaryDirectory: String) throws -> InstanceList {
        let settings = try InstanceSettings(configDirectory: primaryDirectory)
        var claims = Claims()
        for param in sharedDirectories {
            let value = try settings.value(param)
            guard value.hasPrefix("/") else { continue }
            var st = stat()
            if stat(value, &st) != 0 {
                throw PostmultiError("\(param) = '\(value)': directory not found: \(String(cString: strerror(errno)))")
            }
            if st.st_mode & S_IFMT != S_IFDIR { throw PostmultiError("\(param) = '\(value)' is not a directory") }
            if param != "meta_directory" { try claims.claim(primaryDirectory, param, value) }
        }
        let dirs = try settings.list("multi_instance_directories")
        let primary = try Instance(settings, isPrimary: true, hasSecondaries: !dirs.isEmpty)
        return InstanceList(instances: [primary], claims: claims, primarySettings: settings)
    }

    static func load(primaryDirectory: String) throws -> InstanceList {
        var list = try primaryOnly(primaryDirectory)
        try list.claims.claim(list.primary)
        for dir in try list.primarySettings.list("multi_instance_directories") {
            let instance = try loadSecondary(dir, commandDirectory: list.primarySettings.commandDirectory)
            try list.claims.claim(instance)
            list.instances.append(instance)
        }
        return list
    }

    /// A secondary's settings, refused like stock's `postconf -xc DIR ...` helper.
    static func loadSecondary(_ dir: String, commandDirectory: String) throws -> Instance {
        let helper = commandDirectory + "/postconf"
        let settings: InstanceSettings
        do { settings = try InstanceSettings(configDirectory: dir) } catch {
            fputs("\(helper): fatal: \(error)\n", stderr)
            throw PostmultiError("Failed to obtain all required \(dir)/main.cf parameters")
        }
        if access(dir + "/master.cf", F_OK) != 0 {
            fputs("\(helper): warning: open \(dir)/master.cf: \(String(cString: strerror(errno)))\n", stderr)
        }
        do { return try Instance(settings, isPrimary: false, hasSecondaries: true) } catch let e as PostmultiError {
            throw e
        } catch {
            throw PostmultiError("Cannot parse \(dir)/main.cf file")
        }
    }
}
