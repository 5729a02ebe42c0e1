// ChildArguments.swift - the argument vector a Postfix daemon expects.
//
// The order is the stock master's, element for element: command, -l or -z
// for process limits 1 and 0, -n when the service name differs from the
// command's basename, -t type, -d, -v, -u, -c, the stress override for
// stress-eligible inet services, -s for several listen sockets, then the
// master.cf arguments unchanged (brace groups arrive as single elements).

import PostfixConfig

package struct ChildFlags {
    package var debug = false     // master -d
    package var verbose = false   // master -v

    package init(debug: Bool = false, verbose: Bool = false) {
        self.debug = debug
        self.verbose = verbose
    }
}

package enum ChildArguments {
    package static func build(_ entry: MasterEntry, flags: ChildFlags, stressActive: Bool) -> [String] {
        var argv = [entry.command]
        if entry.processLimit == 1 { argv.append("-l") }
        if entry.processLimit == 0 { argv.append("-z") }
        if basename(entry.command) != entry.name { argv += ["-n", entry.name] }
        argv += ["-t", entry.type.rawValue]
        if flags.debug { argv.append("-d") }
        if flags.verbose { argv.append("-v") }
        if entry.unprivileged { argv.append("-u") }
        if entry.chroot { argv.append("-c") }
        if isStressEligible(entry) { argv += ["-o", stressActive ? "stress=yes" : "stress="] }
        if entry.addresses.count > 1 { argv += ["-s", String(entry.addresses.count)] }
        return argv + entry.arguments
    }

    /// inet services with a non-loopback address and a limit above one can
    /// be told to adapt to overload; unlimited services cannot overload.
    package static func isStressEligible(_ entry: MasterEntry) -> Bool {
        entry.type == .inet && entry.processLimit > 1 && !entry.addresses.allSatisfy(\.isLoopback)
    }

    package static func basename(_ path: String) -> Substring {
        path.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(path)
    }
}
