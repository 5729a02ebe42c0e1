// LibtoolArchive.swift - which shared library a libtool archive (.la) names.
//
// The fields are read the way libltdl 2.4 reads them: one `name=value` per
// line, comment lines skipped, `dlname='...'` (else the last word of
// `library_names='...'`), `libdir='...'`, and `installed=yes|no` (yes when
// absent); other lines are ignored. The candidate files follow libltdl's
// order: `libdir/dlname` for an installed archive, `<dir>/.libs/dlname` for
// one that is not, then `<dir>/dlname` (the archive's own directory).
// Dependency libraries are not candidates: on Linux libltdl leaves them to
// the system loader (DT_NEEDED), as it is built without LTDL_DLOPEN_DEPLIBS.

struct LibtoolArchive: Equatable {
    var dlname: String?
    var libdir: String?
    var installed = true

    enum ParseError: Error, Equatable {
        /// A value without the single quotes libtool writes around it.
        case unquoted(field: String, line: Int)
    }

    init(parsing text: String) throws {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("#") { continue }
            if line == "installed=yes" { installed = true }
            if line == "installed=no" { installed = false }
            for field in ["dlname", "libdir", "library_names"] where line.hasPrefix(field + "=") {
                let value = try LibtoolArchive.quoted(line.dropFirst(field.count + 1), field: field, line: index + 1)
                switch field {
                case "dlname": dlname = value
                case "libdir": libdir = value
                default: if dlname == nil { dlname = value?.split(separator: " ").last.map(String.init) }
                }
            }
        }
    }

    /// The text between the first and last quote; nil when that is empty.
    private static func quoted(_ value: Substring, field: String, line: Int) throws -> String? {
        guard value.first == "'", let last = value.lastIndex(of: "'"), last > value.startIndex else {
            if value.contains("'") { return nil }
            throw ParseError.unquoted(field: field, line: line)
        }
        let inner = value[value.index(after: value.startIndex)..<last]
        return inner.isEmpty ? nil : String(inner)
    }

    /// The files libltdl would try, in its order, for an archive in `directory`.
    func candidates(archiveDirectory directory: String) -> [String] {
        guard let dlname else { return [] }
        var files: [String] = []
        if installed, let libdir { files.append(LibtoolArchive.join(libdir, dlname)) }
        if !installed { files.append(LibtoolArchive.join(LibtoolArchive.join(directory, ".libs"), dlname)) }
        files.append(LibtoolArchive.join(directory, dlname))
        return files
    }

    private static func join(_ directory: String, _ name: String) -> String {
        (directory.hasSuffix("/") ? String(directory.dropLast()) : directory) + "/" + name
    }
}
