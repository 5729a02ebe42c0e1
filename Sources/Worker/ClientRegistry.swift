// ClientRegistry.swift - the connections a plugin worker serves, behind handles.
//
// The mh_client handle a plugin holds is a serial number, never an address:
// the host never dereferences it, every host function looks it up here, and
// a number is never reused. So a handle used after its connection ended, used
// twice, or made up, is recognised as unknown and refused; it can never reach
// freed memory or another connection's descriptor. The registry owns each
// connection's descriptor until `end` closes it.

import Glibc

final class ClientRegistry {
    struct Client {
        let fd: Int32
    }

    private var clients: [UInt: Client] = [:]
    /// Starts well away from NULL and small integers a buggy plugin might pass.
    private var nextSerial: UInt = 0x10000

    var count: Int { clients.count }

    /// Registers an accepted connection; returns the plugin's handle for it.
    func open(_ fd: Int32) -> OpaquePointer {
        let serial = nextSerial
        nextSerial += 1
        clients[serial] = Client(fd: fd)
        // A serial is never 0, so the handle is never NULL.
        return OpaquePointer(bitPattern: serial)!
    }

    /// The live connection behind `handle`, or nil for NULL, ended or unknown handles.
    func lookup(_ handle: OpaquePointer?) -> Client? {
        guard let handle else { return nil }
        return clients[UInt(bitPattern: handle)]
    }

    /// Forgets the connection and closes its descriptor; false when it was
    /// not live (ended already, or never a handle of ours).
    @discardableResult
    func end(_ handle: OpaquePointer) -> Bool {
        guard let client = clients.removeValue(forKey: UInt(bitPattern: handle)) else { return false }
        close(client.fd)
        return true
    }
}
