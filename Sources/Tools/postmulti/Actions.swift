// Actions: `postmulti -e ACTION`: the checks postmulti(1) itself makes, then
// the effects (InstanceEdits), in stock's order.
// Guarantees: init touches only the primary main.cf; create/import add an
// instance (NewInstance) and are not enabled; destroy/deport need `-i`, an
// existing, non-primary, disabled instance, and remove it from the list;
// enable/disable/assign need `-i` and an existing instance; assign with no
// actual change exits 0 without touching anything.

import ToolSupport

struct Actions {
    let options: PostmultiOptions
    var list: InstanceList
    let edits: InstanceEdits

    mutating func run(_ action: String) throws -> Int32 {
        switch action {
        case "init":
            try edits.initialize()
        case "create", "import":
            let (target, changes) = try NewInstance.add(action, options: options, to: &list)
            try edits.requireInit()
            try edits.add(target, action: action, changes: changes, secondaries: secondaryDirectories)
        case "destroy", "deport":
            let target = try select(unlink: true)
            try edits.requireInit()
            if action == "destroy" {
                try edits.destroy(target, secondaries: secondaryDirectories)
            } else {
                try edits.deport(target, secondaries: secondaryDirectories)
            }
        case "assign":
            let changes = try assignment(try select(unlink: false))
            if changes.0.isEmpty { return 0 }
            try edits.requireInit()
            try edits.assignNames(changes.1.configDirectory, changes.0)
        default:
            let target = try select(unlink: false)
            try edits.requireInit()
            try edits.edit(target.configDirectory, [("multi_instance_enable", action == "enable" ? "yes" : "no")])
        }
        return 0
    }

    var secondaryDirectories: [String] { list.secondaries.map(\.configDirectory) }

    /// The instance named by -i; with unlink, also taken out of the list.
    mutating func select(unlink: Bool) throws -> Instance {
        guard let selector = options.instance, options.group == nil, !options.all else {
            throw PostmultiError("Select an instance via '-i name'")
        }
        guard let index = list.instances.firstIndex(where: { $0.matches(selector) }) else {
            throw PostmultiError("No instance named \(selector)")
        }
        let target = list.instances[index]
        if unlink {
            if index == 0 { throw PostmultiError("Cannot remove the primary instance") }
            if target.enabled { throw PostmultiError("Cannot remove enabled instances") }
            list.instances.remove(at: index)
        }
        return target
    }

    /// -I/-G against the instance's current name and group.
    mutating func assignment(_ target: Instance) throws -> (NameChanges, Instance) {
        let name = options.newName.map { $0 == "-" ? "" : $0 }
        let group = options.newGroup.map { $0 == "-" ? "" : $0 }
        try NewInstance.checkAssignments(name: name, group: group)
        var changes = NameChanges()
        if let n = name, n != (target.name ?? "") {
            try list.claims.claim(target.configDirectory, "multi_instance_name", n)
            changes.name = n
        }
        if let g = group, g != (target.group ?? "") { changes.group = g }
        return (changes, target)
    }
}
