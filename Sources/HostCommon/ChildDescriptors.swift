// ChildDescriptors.swift - the descriptors every daemon child finds at 3, 4, 5, 6...
//
// The layout is Postfix's: flow pipe on 3 (read) and 4 (write), the
// service's status channel on 5, listen sockets on 6 onwards, stdio as
// inherited, everything else closed. The master's Spawner places them in an
// exec'd daemon's child; a forked plugin worker places them itself. Sources
// are first moved above every target so that no dup2 can clobber a
// descriptor still to be placed; the placement needs no spare descriptor, so
// it works with the master at its open-file limit.

import Glibc
import CSystem

package struct ChildDescriptors {
    package let flowRead: Int32
    package let flowWrite: Int32
    package let status: Int32
    package let listeners: [Int32]

    package init(flowRead: Int32, flowWrite: Int32, status: Int32, listeners: [Int32]) {
        self.flowRead = flowRead
        self.flowWrite = flowWrite
        self.status = status
        self.listeners = listeners
    }
}

/// Fork and exec live in the master (Spawner.spawn); the child side is here.
package enum Spawner {
    package static let firstListenFD: Int32 = 6

    /// Child side: moves the inherited descriptors to 3, 4, 5, 6.. . Every
    /// other descriptor above 2 is closed first (all are close-on-exec) and
    /// each source once copied, so this needs no spare descriptor even when
    /// the master runs at its open-file limit; the soft limit goes up to the
    /// hard one first (as every Postfix daemon does at start-up), in case
    /// the master's was lowered below the numbers it holds.
    package static func placeDescriptors(_ d: ChildDescriptors) {
        let sources = [d.flowRead, d.flowWrite, d.status] + d.listeners
        closeDescriptors(from: 3, except: sources)
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let floor = firstListenFD + Int32(d.listeners.count)
        let moved = sources.map { source -> Int32 in
            let copy = fcntl(source, F_DUPFD_CLOEXEC, floor)
            close(source)
            return copy
        }
        for (index, fd) in moved.enumerated() {
            let target = Int32(3 + index)
            if fd < 0 || dup2(fd, target) < 0 {
                MasterLog.fatal("master_spawn: dup2 descriptor \(target): \(errnoText())")
            }
        }
    }

    /// Closes every descriptor from `low` up except those in `keep`.
    private static func closeDescriptors(from low: Int32, except keep: [Int32]) {
        var next = low
        for fd in keep.sorted() where fd >= next {
            while next < fd {
                close(next)
                next += 1
            }
            next = fd + 1
        }
        cs_close_from(next)
    }
}
