// StartupRecovery: what a queue manager does with the active queue when it
// starts (stock qmgr_move(active, incoming, now)): every queue file in
// active (hashed subdirectories included) gets atime = mtime = now and is
// moved to incoming, without opening or locking it; a file still being
// delivered by an agent of the previous queue manager is found out later,
// when loading it fails to get the lock. Names that are not queue IDs are
// left with a warning; files that vanish meanwhile are warnings.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

public struct RecoveryReport: Equatable {
    public var moved: [QueueID] = []
    /// Stock's warnings, without "warning: ".
    public var warnings: [String] = []
}

extension QueueStore {
    public func recoverActive(now: Int) throws(QueueStoreError) -> RecoveryReport {
        var report = RecoveryReport()
        let walk = try QueueDirectoryWalk(root: root, queue: QueueName.active.text)
        let (source, target) = (QueueName.active, QueueName.incoming)
        while let event = try walk.next(enter: { _ in true }) {
            guard case .name(let name, _) = event else { continue }
            guard let id = QueueID(name) else {
                report.warnings.append("qmgr_move: ignored: queue \(source) id \(name)")
                continue
            }
            guard try setTimes(id, in: source, to: now) else {
                report.warnings.append("qmgr_move: update \(relativePath(of: id, in: source)) time stamps: \(SystemError.text(ENOENT))")
                continue
            }
            guard try rename(id, from: source, to: target) else {
                report.warnings.append("qmgr_move: rename \(id) from \(source) to \(target): \(SystemError.text(ENOENT))")
                continue
            }
            report.moved.append(id)
        }
        return report
    }
}
