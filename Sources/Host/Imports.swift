// Imports.swift - makes the master's libraries visible to every file here.
//
// The byte-level codecs (status records, trigger requests, plugin
// descriptors and their messages) live in MasterProtocol so the fuzz targets
// in fuzz/ run exactly what the master runs; what both sides of fork() use
// is in HostCommon, plugin file checks and validation's child in
// PluginLoading, and what runs after fork in WorkerRuntime. Re-exporting
// them once keeps the master's files free of per-file imports.
@_exported import MasterProtocol
@_exported import HostCommon
@_exported import PluginLoading
@_exported import WorkerRuntime
