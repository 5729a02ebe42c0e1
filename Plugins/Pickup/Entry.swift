// Entry.swift - the one symbol the host looks up: the descriptor of the
// pickup service (PickupService), built once by the SDK.
import PluginAPI

@_cdecl("mailhost_plugin_entry")
public func mailhostPluginEntry() -> UnsafePointer<mh_plugin_descriptor> {
    PluginExport.descriptor(for: PickupService.self)
}
