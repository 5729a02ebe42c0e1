// InetServices.swift - master.cf's inet services by name, for send_trigger.
//
// A worker may be chrooted and cannot read master.cf itself, so the master
// (or daemon mode, before any chroot) builds this table from the master.cf
// it has loaded and hands it to the worker in PluginWorkerSpec.

import PostfixConfig

extension MasterConfig {
    /// inet services by name (field 1 as written) with their listen
    /// addresses: where a plugin's send_trigger finds an inet service.
    package var inetServicesByName: [String: [ResolvedAddress]] {
        var table: [String: [ResolvedAddress]] = [:]
        for entry in entries where entry.type == .inet { table[entry.name] = entry.addresses }
        return table
    }
}
