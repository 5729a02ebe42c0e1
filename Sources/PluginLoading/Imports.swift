// Imports.swift - makes this library's dependencies visible to every file here.
//
// Refusal texts and the descriptor checks are MasterProtocol's (the code the
// fuzz targets run); errnoText and logging are HostCommon's. Re-exporting
// them once keeps the files free of per-file imports.
@_exported import MasterProtocol
@_exported import HostCommon
