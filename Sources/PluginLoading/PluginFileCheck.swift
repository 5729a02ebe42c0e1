// PluginFileCheck.swift - open a plugin file for loading, checked through its descriptor.
//
// The rule (the one Postfix applies to dynamicmaps.cf libraries, extended to
// the directory): the file that is loaded, and the directory it really lives
// in, are owned by root and not group or world writable, and the file is a
// regular file. Guarantees: the checks are made on open descriptors (fstat),
// never on names; the file is opened relative to the very directory that was
// checked, without following a symlink; and the caller loads the file it was
// given through that descriptor (/proc/self/fd/N), so nothing can be swapped
// in between check and load. A symlinked plugin is checked where it really
// lives. A libtool archive (.la) is checked and read, and the shared library
// it names is found in libltdl's order and checked the same way. Validation
// children, workers and executable mode all load through this one check.

import Glibc

/// A shared library opened read-only and found acceptable; the caller
/// closes it once the library is loaded.
package struct CheckedPluginFile {
    let fd: Int32
    /// The file's real path, for messages.
    let path: String
    /// libltdl's module name for the configured plugin, for `<name>_LTX_` symbols.
    let moduleName: String

    /// What the loader opens: this very file, through its descriptor.
    var loadPath: String { "/proc/self/fd/\(fd)" }

    package func close() { _ = Glibc.close(fd) }
}

package enum PluginFileCheck {
    package enum Outcome {
        case checked(CheckedPluginFile)
        case refused([String])
    }

    /// Opens the shared library that `path` (a .so, or a .la naming one) loads.
    package static func open(_ path: String) -> Outcome {
        let module = moduleName(path)
        let opened = openChecked(path)
        guard path.hasSuffix(".la"), case .file(let fd, let real) = opened else {
            return outcome(opened, module: module)
        }
        defer { _ = Glibc.close(fd) }
        let archive: LibtoolArchive
        switch readArchive(fd, path: real) {
        case .failure(let problem): return .refused([problem.text])
        case .success(let parsed): archive = parsed
        }
        let candidates = archive.candidates(archiveDirectory: directory(of: path))
        for candidate in candidates {
            let library = openChecked(candidate)
            if case .missing = library { continue }
            return outcome(library, module: module)
        }
        guard let dlname = archive.dlname else { return .refused([PluginMessages.archiveNamesNoLibrary(real)]) }
        return .refused([PluginMessages.archiveLibraryMissing(real, dlname: dlname, tried: candidates)])
    }

    // MARK: one file

    private enum Opened {
        case file(fd: Int32, realPath: String)
        case missing(String)
        case refused([String])
    }

    private static func outcome(_ opened: Opened, module: String) -> Outcome {
        switch opened {
        case .file(let fd, let real): return .checked(CheckedPluginFile(fd: fd, path: real, moduleName: module))
        case .missing(let path): return .refused([PluginMessages.loadFailed("\(path): \(errnoText(ENOENT))")])
        case .refused(let problems): return .refused(problems)
        }
    }

    /// Opens `path` where it really lives and checks it and its directory.
    private static func openChecked(_ path: String) -> Opened {
        guard let resolved = realpath(path, nil) else {
            return errno == ENOENT ? .missing(path) : .refused([PluginMessages.loadFailed("\(path): \(errnoText())")])
        }
        let real = String(cString: resolved)
        free(resolved)
        let parent = directory(of: real)
        let directoryFD = Glibc.open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { return .refused([PluginMessages.loadFailed("\(parent): \(errnoText())")]) }
        defer { _ = Glibc.close(directoryFD) }
        // O_NOFOLLOW: a name turned into a symlink since realpath() is refused,
        // so the file opened is always one in the directory checked here.
        let fd = openat(directoryFD, String(real.dropFirst(parent == "/" ? 1 : parent.count + 1)),
                        O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return .refused([PluginMessages.loadFailed("\(real): \(errnoText())")]) }
        let problems = check(fd, real, regularFile: true) + check(directoryFD, parent, regularFile: false)
        if problems.isEmpty { return .file(fd: fd, realPath: real) }
        _ = Glibc.close(fd)
        return .refused(problems)
    }

    private static func check(_ fd: Int32, _ path: String, regularFile: Bool) -> [String] {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [PluginMessages.loadFailed("\(path): \(errnoText())")] }
        var found: [String] = []
        if regularFile && info.st_mode & S_IFMT != S_IFREG { found.append(PluginMessages.notRegularFile(path)) }
        if info.st_uid != 0 { found.append(PluginMessages.notRootOwned(path)) }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 { found.append(PluginMessages.writable(path)) }
        return found
    }

    // MARK: libtool archives

    /// Archives are a few hundred bytes; anything this large is not one.
    private static let archiveLimit = 64 * 1024

    private static func readArchive(_ fd: Int32, path: String) -> Result<LibtoolArchive, ArchiveProblem> {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return .failure(ArchiveProblem(PluginMessages.loadFailed("\(path): \(errnoText())"))) }
            if count == 0 { break }
            bytes += buffer[0..<count]
            if bytes.count > archiveLimit { return .failure(ArchiveProblem(PluginMessages.archiveTooLarge(path))) }
        }
        do {
            return .success(try LibtoolArchive(parsing: String(decoding: bytes, as: UTF8.self)))
        } catch LibtoolArchive.ParseError.unquoted(let field, let line) {
            return .failure(ArchiveProblem(PluginMessages.archiveUnquoted(path, field: field, line: line)))
        } catch {
            return .failure(ArchiveProblem(PluginMessages.loadFailed("\(path): \(error)")))
        }
    }

    private struct ArchiveProblem: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    // MARK: names

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The name libltdl gives a module: the file name up to its last dot,
    /// with every character but ASCII letters and digits made "_".
    static func moduleName(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        let stem = file.lastIndex(of: ".").map { file[..<$0] } ?? file[...]
        return String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }
}
