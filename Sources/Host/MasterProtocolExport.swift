// MasterProtocolExport.swift - makes MasterProtocol visible to every file here.
//
// The byte-level codecs (status records, trigger requests, plugin
// descriptors and their messages) live in the MasterProtocol library so the
// fuzz targets in fuzz/ run exactly what the master runs; re-exporting it once
// keeps the master's files free of per-file imports.
@_exported import MasterProtocol
