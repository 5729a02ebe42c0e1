// ChildTable.swift - the master's child processes, found by pid.
//
// Looked up on every status report, so it avoids Dictionary's SipHash:
// open addressing with linear probing on the pid itself, at most half full,
// with backward-shift deletion (no tombstones, so lookups stay short).

import Glibc

struct ChildTable {
    private var slots: [ChildProcess?] = Array(repeating: nil, count: 64)
    private(set) var count = 0

    private func home(_ pid: pid_t) -> Int {
        Int(UInt32(bitPattern: pid) &* 2_654_435_761 >> 7) & (slots.count - 1)
    }

    subscript(pid: pid_t) -> ChildProcess? {
        var index = home(pid)
        while let child = slots[index] {
            if child.pid == pid { return child }
            index = (index + 1) & (slots.count - 1)
        }
        return nil
    }

    mutating func insert(_ child: ChildProcess) {
        if (count + 1) * 2 > slots.count { grow() }
        var index = home(child.pid)
        while let existing = slots[index] {
            if existing.pid == child.pid {
                slots[index] = child
                return
            }
            index = (index + 1) & (slots.count - 1)
        }
        slots[index] = child
        count += 1
    }

    @discardableResult
    mutating func remove(_ pid: pid_t) -> ChildProcess? {
        let mask = slots.count - 1
        var index = home(pid)
        while let child = slots[index], child.pid != pid { index = (index + 1) & mask }
        guard let removed = slots[index] else { return nil }
        slots[index] = nil
        count -= 1
        // Shift later members of the probe run back into the hole.
        var hole = index
        var next = (index + 1) & mask
        while let candidate = slots[next] {
            let want = home(candidate.pid)
            let stays = hole <= next ? (hole < want && want <= next) : (hole < want || want <= next)
            if !stays {
                slots[hole] = candidate
                slots[next] = nil
                hole = next
            }
            next = (next + 1) & mask
        }
        return removed
    }

    var all: [ChildProcess] { slots.compactMap { $0 } }

    private mutating func grow() {
        let old = slots.compactMap { $0 }
        slots = Array(repeating: nil, count: slots.count * 2)
        count = 0
        old.forEach { insert($0) }
    }
}
