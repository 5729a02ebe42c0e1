// Skeletons.swift - the four server models a plugin can run under.
//
// single: one connection at a time, closed when SERVE returns.
// multi: many connections; SERVE per readable request, a negative result
//        closes that connection.
// trigger: a connection (or FIFO data) is read, up to 1024 bytes, and handed
//        to TRIGGER; fifo listeners are read directly.
// event: ACCEPT gets the connection; the plugin drives it with the host's
//        watch and timer functions and ends it with client_done.
// Connections live in the worker's ClientRegistry: the skeleton ends one only
// if it is still registered, so a plugin that already ended it (event model)
// cannot make the host close or count it twice.
// Listeners are non-blocking and shared with sibling processes, so a lost
// accept race (EAGAIN) is simply ignored.

import Glibc
import MailhostPluginABI
import CSystem

enum Skeletons {
    static func start(_ worker: WorkerContext) {
        for fd in worker.listenFDs {
            worker.loop.watchReadable(fd) { _ in
                switch worker.model {
                case UInt32(MH_MODEL_SINGLE.rawValue): single(worker, fd)
                case UInt32(MH_MODEL_MULTI.rawValue): multiAccept(worker, fd)
                case UInt32(MH_MODEL_TRIGGER.rawValue): trigger(worker, fd)
                default: event(worker, fd)
                }
            }
        }
    }

    private static func acceptClient(_ fd: Int32) -> Int32? {
        let client = cs_accept_cloexec(fd)
        return client < 0 ? nil : client
    }

    // MARK: single

    private static func single(_ worker: WorkerContext, _ fd: Int32) {
        guard let client = acceptClient(fd), let serve = worker.callbacks.serve else { return }
        worker.reportBusy()
        let handle = worker.clients.open(client)
        _ = serve(worker.hostHandle, worker.state, handle)
        endClient(worker, handle)
    }

    // MARK: multi

    private static func multiAccept(_ worker: WorkerContext, _ fd: Int32) {
        guard !worker.retiring, let client = acceptClient(fd) else { return }
        let handle = worker.clients.open(client)
        worker.loop.watchReadable(client) { _ in
            guard let serve = worker.callbacks.serve else { return }
            worker.reportBusy()
            let status = serve(worker.hostHandle, worker.state, handle)
            if status < 0 {
                endClient(worker, handle)
            } else {
                worker.reportIdle()
            }
        }
    }

    // MARK: trigger

    private static func trigger(_ worker: WorkerContext, _ fd: Int32) {
        guard let handler = worker.callbacks.trigger else { return }
        let isFifo = worker.spec.entry.type == .fifo
        let source = isFifo ? fd : (acceptClient(fd) ?? -1)
        if source < 0 { return }
        worker.reportBusy()
        let data = TriggerRequest.read(from: source, wait: isFifo ? 0 : TriggerRequest.connectionWait)
        if !isFifo { close(source) }
        if !data.isEmpty {
            data.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    _ = handler(worker.hostHandle, worker.state, $0.baseAddress, $0.count)
                }
            }
        }
        worker.useCount += 1
        worker.reportIdle()
    }

    // MARK: event

    private static func event(_ worker: WorkerContext, _ fd: Int32) {
        guard !worker.retiring, let client = acceptClient(fd), let accept = worker.callbacks.accept else { return }
        worker.reportBusy()
        let handle = worker.clients.open(client)
        let status = accept(worker.hostHandle, worker.state, handle)
        if status < 0 && worker.clients.lookup(handle) != nil {
            endClient(worker, handle)
        } else {
            worker.reportIdle()
        }
    }

    // MARK: ending a connection

    /// Ends a live connection: no watch left on its descriptor, descriptor
    /// closed, one more use, then the status report and the exit rules.
    /// Returns false (and does nothing) when the handle is not live.
    @discardableResult
    static func endClient(_ worker: WorkerContext, _ handle: OpaquePointer) -> Bool {
        guard let client = worker.clients.lookup(handle) else { return false }
        worker.loop.unwatch(client.fd)
        worker.clients.end(handle)
        worker.useCount += 1
        worker.reportIdle()
        return true
    }
}
