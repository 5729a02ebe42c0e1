// Entry.swift - the one symbol the host looks up; it returns the descriptor
// the SDK builds from MetricsService.
import PluginAPI

@_cdecl("mailhost_plugin_entry")
public func mailhostPluginEntry() -> UnsafePointer<mh_plugin_descriptor> {
    PluginExport.descriptor(for: MetricsService.self)
}
