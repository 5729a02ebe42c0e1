// TableChangeWatch.swift - stock's "table ... has changed -- restarting"
// check for the local tables a process reads at start-up (a domain list's
// hash, btree, cdb and lmdb tables, as DomainList.loadingLocalTables reads
// them; make the watch first, so that a change made while they are read
// is seen too): the file behind each table is kept open, so that a change
// is seen even from inside a chroot, and a table has changed when its
// file's modification time differs from the one seen at start-up or the
// file has been unlinked (postmap may build a new file and rename it over
// the old one).
// The members of a unionmap or pipemap table are watched too, as stock
// registers each member under its own "type:name".
// Tables without a file of their own (inline) and texthash tables (stock
// keeps no descriptor for them either) are not watched.
// Guarantees: never traps; a file that cannot be opened at start-up is
// not watched (its table was unusable then, as stock's surrogate table is);
// a table's name is reported as stock registers it: a list's own table
// as "type:name(0,lock|utf8_request)", a union or pipe member as
// "type:name".
#if canImport(Glibc)
import Glibc
#endif

public final class TableChangeWatch {
    struct Watched {
        let name: String
        let fd: Int32
        let modified: Int
    }

    /// The file that holds each watched table type's data: the table's
    /// name with this suffix.
    static let fileSuffixes: [String: String] = ["hash": ".db", "btree": ".db", "cdb": ".cdb", "lmdb": ".lmdb"]

    private var watched: [Watched] = []

    /// Watches the local tables of `lists` (read, or about to be read, at start-up).
    public init(_ lists: [DomainList]) {
        var seen = Set<String>()
        for list in lists {
            for pattern in list.localTablePatterns {
                watch(pattern, registeredAs: pattern + "(0,lock|utf8_request)", seen: &seen)
            }
        }
    }

    deinit {
        for table in watched { close(table.fd) }
    }

    /// The names of the watched tables, in the order they were found.
    public var tableNames: [String] { watched.map(\.name) }

    /// The first watched table whose file has changed since start-up, or nil.
    public func changedTable() -> String? {
        for table in watched {
            var now = stat()
            guard fstat(table.fd, &now) == 0 else { return table.name }
            if Int(now.st_mtim.tv_sec) != table.modified || now.st_nlink == 0 { return table.name }
        }
        return nil
    }

    private func watch(_ pattern: String, registeredAs name: String, seen: inout Set<String>) {
        guard seen.insert(name).inserted, let colon = pattern.firstIndex(of: ":") else { return }
        let type = String(pattern[..<colon])
        if type == "unionmap" || type == "pipemap" {
            for member in LocalTable.memberSpecs(String(pattern[pattern.index(after: colon)...])) ?? [] {
                watch(member, registeredAs: member, seen: &seen)
            }
            return
        }
        guard let suffix = Self.fileSuffixes[type] else { return }
        let path = String(pattern[pattern.index(after: colon)...]) + suffix
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            return
        }
        watched.append(Watched(name: name, fd: fd, modified: Int(st.st_mtim.tv_sec)))
    }
}
