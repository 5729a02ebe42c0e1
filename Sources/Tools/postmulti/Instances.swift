// Instances: the primary (default) instance and the secondaries listed in its
// multi_instance_directories, as postmulti(1) sees them.
// Guarantees: order is primary first, then list order; a secondary whose
// main.cf cannot be read is a PostmultiError with stock's wording; the primary
// counts as enabled when there are no secondaries.

import PostfixConfig
import ToolSupport

struct Instance {
    let configDirectory: String
    let name: String?
    let group: String?
    let enabled: Bool
    let settings: InstanceSettings
    let isPrimary: Bool

    init(_ settings: InstanceSettings, isPrimary: Bool, hasSecondaries: Bool) throws {
        self.settings = settings
        self.isPrimary = isPrimary
        configDirectory = settings.configDirectory
        let n = try settings.value("multi_instance_name"), g = try settings.value("multi_instance_group")
        name = n.isEmpty ? nil : n
        group = g.isEmpty ? nil : g
        let enable = try settings.value("multi_instance_enable").lowercased()
        if !isPrimary && enable != "yes" && enable != "no" {
            throw PostmultiError("Unexpected \(configDirectory)/main.cf entry: multi_instance_enable = \(enable)")
        }
        enabled = (isPrimary && !hasSecondaries) || enable == "yes"
    }

    /// Does `-i selector` pick this instance?
    func matches(_ selector: String) -> Bool {
        if selector == "-" { return isPrimary }
        if selector == configDirectory { return true }
        guard let n = name else { return false }
        return n == selector || n == "postfix-" + selector
    }
}

struct PostmultiError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum InstanceList {
    static func load(primaryDirectory: String) throws -> [Instance] {
        let primary = try InstanceSettings(configDirectory: primaryDirectory)
        let dirs = try primary.list("multi_instance_directories")
        var result = [try Instance(primary, isPrimary: true, hasSecondaries: !dirs.isEmpty)]
        var seen: [String: String] = [:]
        for dir in dirs {
            let settings: InstanceSettings
            do { settings = try InstanceSettings(configDirectory: dir) } catch {
                throw PostmultiError("Cannot parse \(dir)/main.cf file")
            }
            let instance = try Instance(settings, isPrimary: false, hasSecondaries: true)
            if let n = instance.name {
                if let owner = seen[n] {
                    throw PostmultiError("instance \(dir), multi_instance_name=\(n) conflicts with instance \(owner)=\(n)")
                }
                seen[n] = dir
            }
            result.append(instance)
        }
        return result
    }
}
