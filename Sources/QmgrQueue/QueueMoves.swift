// QueueMoves: the moves a queue manager makes with a message that is in the
// active queue, each with stock qmgr's effects and wording:
// - `saveCorrupt`: active -> corrupt, warning `saving corrupt file "<id>"
//   from queue "active" to queue "corrupt"` (nothing when the file is gone);
// - `deferActive`: atime and mtime set to the next attempt, then active ->
//   deferred (or -> incoming, for a file still locked by a delivery agent);
// - `removeActive`: the queue file is removed, `<id>: removed` logged;
// - `move`: any other rename between queues (e.g. active -> hold).
// A vanished file (postsuper -d/-h while the message was active) is a
// warning in stock's words, never an error; other failures, which stock
// treats as fatal, are thrown.
#if canImport(Glibc)
import Glibc
#endif
import MailQueue

/// What a move did, and the line stock logs for it (without its "warning: " or "info: " level).
public struct MoveResult: Equatable {
    public var moved: Bool
    public var logLine: String?
    public var isWarning: Bool

    static func done(_ line: String? = nil, warning: Bool = false) -> MoveResult {
        MoveResult(moved: true, logLine: line, isWarning: warning)
    }

    static func vanished(_ warning: String?) -> MoveResult {
        MoveResult(moved: false, logLine: warning, isWarning: warning != nil)
    }
}

extension QueueStore {
    public func saveCorrupt(_ id: QueueID) throws(QueueStoreError) -> MoveResult {
        guard try rename(id, from: .active, to: .corrupt) else { return .vanished(nil) }
        return .done("saving corrupt file \"\(id)\" from queue \"\(QueueName.active)\" to queue \"\(QueueName.corrupt)\"",
                     warning: true)
    }

    /// Sets the times of `id` in active to `retryTime`, then moves it to `target`.
    public func deferActive(_ id: QueueID, to target: QueueName = .deferred, retryTime: Int) throws(QueueStoreError) -> MoveResult {
        try setTimes(id, in: .active, to: retryTime)
        guard try rename(id, from: .active, to: target) else {
            return .vanished("qmgr_active_defer: rename \(id) from \(QueueName.active) to \(target): \(SystemError.text(ENOENT))")
        }
        return .done()
    }

    public func removeActive(_ id: QueueID) throws(QueueStoreError) -> MoveResult {
        guard try remove(id, from: .active) else {
            return .vanished("qmgr_active_done_3_generic: remove \(id) from \(QueueName.active): \(SystemError.text(ENOENT))")
        }
        return .done("\(id): removed")
    }

    public func move(_ id: QueueID, from source: QueueName, to target: QueueName) throws(QueueStoreError) -> MoveResult {
        guard try rename(id, from: source, to: target) else {
            return .vanished("rename \(id) from \(source) to \(target): \(SystemError.text(ENOENT))")
        }
        return .done()
    }
}
