// DirectoryEntry.swift - the name of a readdir(3) entry, read where it lies.
//
// Glibc's dirent declares d_name as a 256-byte array, but readdir returns
// records only as long as the name they hold. Swift's view of d_name is a
// tuple, and copying that tuple copies all 256 bytes: past the end of the
// kernel's buffer for the last short entry (ASan saw it, in pickup, on a
// 2,000-file maildrop). Every module that lists a directory reads names
// through here, so the bytes are read in place, up to the terminating NUL.
import Glibc

public enum DirectoryEntry {
    /// The entry's name; valid until the next readdir on the same stream.
    public static func name(_ entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafePointer(to: &entry.pointee.d_name) { field in
            field.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: field.pointee)) {
                String(cString: $0)
            }
        }
    }
}
