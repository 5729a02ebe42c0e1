// LockFiles.swift - pid/master.pid and data_directory/master.lock.
//
// Both files are opened without following symlinks, must be plain files
// with one link, are locked with flock(LOCK_EX|LOCK_NB) for the master's
// lifetime (close-on-exec, never removed), and hold the pid right-aligned in
// 32 columns plus a newline, written at offset 0: the format postfix-script
// (`sed 1q pid/master.pid`) and `master -t` rely on.

import Glibc

enum LockOutcome {
    case locked(Int32)
    case held              // another process holds the lock
    case failed(String)    // could not open or lock, with the reason
}

enum LockFiles {
    /// Opens and locks `path` (relative paths are relative to the cwd).
    static func acquire(_ path: String) -> LockOutcome {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if fd < 0 {
            return .failed("open lock file \(path): cannot open file: \(errnoText())")
        }
        var info = stat()
        if fstat(fd, &info) < 0 || (info.st_mode & S_IFMT) != S_IFREG || info.st_nlink != 1 {
            close(fd)
            return .failed("open lock file \(path): cannot open file: file is not a regular file or has multiple links")
        }
        if flock(fd, LOCK_EX | LOCK_NB) < 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return .held }
            return .failed("open lock file \(path): unable to set exclusive lock: \(errnoText(code))")
        }
        return .locked(fd)
    }

    /// The stock text for a lock held by another master.
    static func heldMessage(_ path: String) -> String {
        "open lock file \(path): unable to set exclusive lock: \(errnoText(EWOULDBLOCK))"
    }

    /// Writes our pid in the 33-byte stock format.
    static func writePid(_ fd: Int32) {
        let pid = String(getpid())
        let line = String(repeating: " ", count: max(0, 32 - pid.count)) + pid + "\n"
        _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// `master -t`: true when a master holds `pidPath` locked.
    static func isRunning(pidPath: String) -> Bool {
        if access(pidPath, F_OK) != 0 { return false }
        switch acquire(pidPath) {
        case .locked(let fd):
            close(fd)
            return false
        case .held, .failed:
            return true
        }
    }
}
