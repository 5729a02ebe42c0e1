// qmgr-scan bench: the cost of one deferred-queue scan with nothing due,
// on a queue of N files (default 100,000) in hashed subdirectories on tmpfs:
// - "stat every file": QueueScan without an index, feeding every name
//   (readdir + lstat per file: what stock's qmgr does every queue_run_delay);
// - "indexed": QueueScan with a DeferredIndex, after the one pass that
//   builds it (timed separately).
// Prints wall and CPU milliseconds per scan (median of the rounds), the
// ratio, and the index's memory (RSS growth while building it).
// Usage: qmgr-scan [--files N] [--rounds R] [--dir BASE]  (BASE default /dev/shm)
import Glibc
import MailQueue
import QmgrQueue

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

let files = Int(option("--files", "100000")) ?? 100_000
let rounds = Int(option("--rounds", "5")) ?? 5
let base = option("--dir", "/dev/shm")

func seconds() -> (wall: Double, cpu: Double) {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    var ru = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru)
    let cpu = Double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + Double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6
    return (Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9, cpu)
}

func residentKB() -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = String(cString: line)
        if s.hasPrefix("VmRSS:") { return Int(s.split(separator: " ").dropFirst().first ?? "0") ?? 0 }
    }
    return 0
}

func fail(_ text: String) -> Never {
    fputs("qmgr-scan: \(text)\n", stderr)
    exit(1)
}

var template = Array("\(base)/qmgr-scan-XXXXXX".utf8CString)
guard let made = mkdtemp(&template) else { fail("mkdtemp in \(base): \(String(cString: strerror(errno)))") }
let root = String(cString: made)
defer { _ = system("rm -rf '\(root)'") }
mkdir(root + "/deferred", 0o700)
mkdir(root + "/active", 0o700)
let store = QueueStore(root: root)
let due = Int(time(nil)) + 3600
var times = [timespec(tv_sec: due, tv_nsec: 0), timespec(tv_sec: due, tv_nsec: 0)]
var created = Set<String>()
for i in 0..<files {
    let id = QueueID.short(microseconds: Int(UInt32(truncatingIfNeeded: i &* 2_654_435_761) % 1_000_000),
                           inode: UInt64(1_000_000 + i))
    guard created.insert(id.text).inserted else { continue }
    let directory = root + "/" + store.directory(of: id, in: .deferred)
    mkdir(directory, 0o700)
    let path = store.path(of: id, in: .deferred)
    let fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0o700)
    guard fd >= 0 else { fail("create \(path): \(String(cString: strerror(errno)))") }
    _ = write(fd, "x", 1)
    close(fd)
    utimensat(AT_FDCWD, path, &times, 0)
}
// Let the directories' mtimes settle (the index does not trust a directory changed within 2 s).
sleep(3)

func pass(_ scan: QueueScan) -> Int {
    var moved = 0
    do {
        try scan.request(.start)
        while let id = try scan.next() {
            if case .moved = try scan.feed(id).disposition { moved += 1 }
        }
    } catch {
        fail("\(error)")
    }
    return moved
}

func measure(_ label: String, _ scan: QueueScan) -> (wall: Double, cpu: Double) {
    var walls: [Double] = [], cpus: [Double] = []
    for _ in 0..<rounds {
        let t0 = seconds()
        guard pass(scan) == 0 else { fail("\(label): a file was due") }
        let t1 = seconds()
        walls.append((t1.wall - t0.wall) * 1000)
        cpus.append((t1.cpu - t0.cpu) * 1000)
    }
    let median = { (v: [Double]) in v.sorted()[v.count / 2] }
    return (median(walls), median(cpus))
}

let plain = measure("stat every file", QueueScan(queue: .deferred, store: store))
let rssBefore = residentKB()
let index = DeferredIndex()
let indexedScan = QueueScan(queue: .deferred, store: store, index: index)
let t0 = seconds()
_ = pass(indexedScan)
let t1 = seconds()
let rssAfter = residentKB()
let indexed = measure("indexed", indexedScan)
func fmt(_ v: Double) -> String {
    let r = (v * 10000).rounded() / 10000
    return String(describing: r)
}
print("qmgr-scan: \(created.count) deferred files, \(rounds) rounds, queue under \(base)")
print("  stat every file (stock's way): \(fmt(plain.wall)) ms wall, \(fmt(plain.cpu)) ms CPU per scan")
print("  indexed, building pass:        \(fmt((t1.wall - t0.wall) * 1000)) ms wall, \(fmt((t1.cpu - t0.cpu) * 1000)) ms CPU")
print("  indexed, nothing due:          \(fmt(indexed.wall)) ms wall, \(fmt(indexed.cpu)) ms CPU per scan")
print("  ratio indexed/stat-every-file: wall \(fmt(indexed.wall / plain.wall)), CPU \(fmt(indexed.cpu / max(plain.cpu, 0.001)))")
print("  index: \(index.count) files remembered, RSS +\(rssAfter - rssBefore) kB while building it")
print("  directories skipped \(index.directoriesSkipped), files not stat'ed \(index.filesNotStatted)")
