// Claims: which instance owns which name or directory, across all instances.
// Guarantees: a value (instance name, config/queue/data directory, shared
// command/daemon/shlib directory) can be claimed by one "<instance dir>,
// <parameter>" only; a second, different claimant is a PostmultiError worded
// as stock: "instance <dir>, <param>=<value> conflicts with instance
// <owner dir>, <owner param>=<value>". Repeating the same claim is harmless.

struct Claims {
    private var owners: [String: String] = [:]

    mutating func claim(_ instanceDirectory: String, _ parameter: String, _ value: String) throws {
        let requestor = instanceDirectory + ", " + parameter
        guard let owner = owners[value] else {
            owners[value] = requestor
            return
        }
        if owner != requestor {
            throw PostmultiError("instance \(instanceDirectory), \(parameter)=\(value) conflicts with instance \(owner)=\(value)")
        }
    }

    /// The instance directory that owns `value`, if any.
    func owner(of value: String) -> String? { owners[value] }

    /// Claims an instance's name (when it has one) and private directories.
    mutating func claim(_ instance: Instance) throws {
        if let name = instance.name { try claim(instance.configDirectory, "multi_instance_name", name) }
        try claim(instance.configDirectory, "config_directory", instance.configDirectory)
        try claim(instance.configDirectory, "queue_directory", instance.queueDirectory)
        try claim(instance.configDirectory, "data_directory", instance.dataDirectory)
    }
}
