// trigger_request - a trigger worker's read of one request (MasterProtocol's
// TriggerRequest.read, called by the trigger skeleton): the input is written
// into a real socketpair or pipe in chunks, then read as the worker reads it.
// The request is the first min(written, 1024) bytes, whatever the chunking.
import Glibc
import MasterProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTriggerRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let chunk = max(1, Int(input.byte()) * 8)
    let payload = input.rest()
    var fds: [Int32] = [-1, -1]
    let useFifo = mode & 1 == 1
    let made = useFifo ? pipe(&fds) : socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
    require(made == 0, "cannot make a descriptor pair")
    defer { fds.filter { $0 >= 0 }.forEach { close($0) } }
    _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
    _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
    var written = 0
    while written < payload.count {
        let count = min(chunk, payload.count - written)
        let sent = payload.withUnsafeBytes { write(fds[1], $0.baseAddress! + written, count) }
        if sent <= 0 { break }
        written += sent
    }
    if written == 0 || mode & 2 == 2 {
        close(fds[1])
        fds[1] = -1
    }
    let request = TriggerRequest.read(from: fds[0], wait: useFifo ? 0 : 1000)
    let expected = Array(payload.prefix(min(written, TriggerRequest.limit)))
    require(request == expected, "read \(request.count) bytes, expected \(expected.count)")
    return 0
}
