// Maildrop.swift - which maildrop files pickup may take, and opening them
// safely. A file is taken when its name is a queue ID and it is a regular
// file whose owner permission bits are exactly rwx: postdrop sets the
// execute bit only after the file is complete, so files still being
// written (0600) are left alone. Opening refuses symbolic links, files with
// several hard links and files swapped between lstat and open, with stock's
// texts for each.
// Guarantees: never follows a symbolic link; a file it cannot read because
// of permissions is reported as such (kept), every other refusal as a
// reason (removed), as stock pickup decides.
#if canImport(Glibc)
import DirectoryEntries
import Glibc
#endif
import MailQueue

struct MaildropEntry {
    let name: String
    /// "maildrop/<name>", relative to the queue directory (or the jail).
    let path: String
    var status: stat
}

enum OpenFailure: Error {
    case vanished
    case permission(reason: String)
    case refused(reason: String)
}

enum Maildrop {
    static let directory = "maildrop"

    /// The names in maildrop, "." and ".." left out; nil when it cannot be read.
    static func names() -> [String]? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = DirectoryEntry.name(entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The entry when the file is complete and may be picked up; warnings
    /// (stock's) go to `warn`.
    static func readyEntry(_ name: String, warn: (String) -> Void) -> MaildropEntry? {
        guard QueueID.isValid(name) else { return nil }
        let path = directory + "/" + name
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno != ENOENT { warn("\(path): \(SystemError.text(errno))") }
            return nil
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            warn("\(path): uid \(st.st_uid): not a regular file")
            return nil
        }
        guard st.st_mode & S_IRWXU == S_IRWXU else { return nil }
        if st.st_nlink > 1 && st.st_ctim.tv_sec < time(nil) - 60 {
            warn("\(path): uid \(st.st_uid): file has \(st.st_nlink) links")
        }
        return MaildropEntry(name: name, path: path, status: st)
    }

    /// An open maildrop file and its size when opened.
    struct OpenFile {
        let descriptor: Int32
        let size: Int
    }

    /// Opens the file read-only and checks that it is the file lstat saw.
    static func open(_ entry: MaildropEntry) throws(OpenFailure) -> OpenFile {
        let fd = Glibc.open(entry.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            let e = errno
            if e == ENOENT { throw .vanished }
            if e == ELOOP { throw .refused(reason: "file is a symbolic link") }
            let reason = "cannot open file: \(SystemError.text(e))"
            throw e == EACCES ? .permission(reason: reason) : .refused(reason: reason)
        }
        var opened = stat(), named = stat()
        let problem: String?
        if fstat(fd, &opened) < 0 {
            problem = "file status changed unexpectedly: \(SystemError.text(errno))"
        } else if opened.st_nlink != 1 {
            problem = "file has \(opened.st_nlink) hard links"
        } else if opened.st_mode & S_IFMT == S_IFDIR {
            problem = "file is a directory"
        } else if lstat(entry.path, &named) < 0 {
            problem = "file status changed unexpectedly: \(SystemError.text(errno))"
        } else if named.st_mode & S_IFMT == S_IFLNK {
            problem = "file is a symbolic link"
        } else if opened.st_dev != named.st_dev || opened.st_ino != named.st_ino {
            problem = "file status changed unexpectedly"
        } else {
            problem = nil
        }
        if let reason = problem {
            close(fd)
            throw .refused(reason: reason)
        }
        return OpenFile(descriptor: fd, size: Int(opened.st_size))
    }

    /// The bytes of a small file, read with one read(2) (the usual
    /// maildrop file: no further fstat or pread); a large file, or one that
    /// did not read whole, is read through a pread window instead.
    static func contents(_ file: OpenFile, name: String) throws(QueueFileError) -> QueueFileBytes {
        if file.size <= wholeReadLimit {
            var buffer = [UInt8](repeating: 0, count: file.size + 1)
            let got = buffer.withUnsafeMutableBytes { raw in
                SystemError.retrying { read(file.descriptor, raw.baseAddress!, raw.count) }
            }
            if got == file.size {
                buffer.removeLast()
                return QueueFileBytes(bytes: buffer, name: name)
            }
        }
        return try QueueFileBytes(descriptor: file.descriptor, name: name)
    }

    /// Files up to this size are read into memory at once.
    static let wholeReadLimit = 64 * 1024
}
