// Imports.swift - makes the worker's libraries visible to every file here.
//
// What the master and its workers share (logging, the event loop, socket
// addresses, the main.cf values, the child descriptor layout) is in
// HostCommon; loading a plugin through its file and ABI checks is in
// PluginLoading; the byte-level codecs are in MasterProtocol. Re-exporting
// them once keeps the worker's files free of per-file imports.
@_exported import MasterProtocol
@_exported import HostCommon
@_exported import PluginLoading
