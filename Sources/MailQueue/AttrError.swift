// AttrError: what can go wrong talking attr0 to a peer, as a value naming
// the peer (a socket path such as "private/rewrite", or a description) and
// the attribute concerned. Texts follow stock's warnings where stock has one.

public struct AttrError: Error, Equatable, Sendable, CustomStringConvertible {
    public let peer: String
    public let problem: Problem

    public init(peer: String, problem: Problem) {
        self.peer = peer
        self.problem = problem
    }

    public enum Problem: Equatable, Sendable {
        case connect(errno: Int32)
        case timeout(while: String)
        case prematureEnd(while: String)
        case io(operation: String, errno: Int32)
        case closed
        case stringTooLong(limit: Int)
        case tooManyAttributes(limit: Int)
        case missingAttribute(String)
        case unexpectedAttribute(String, expecting: String)
        case malformedNumber(name: String, text: ByteString)
        case malformedBase64(name: String, text: ByteString)
        case unexpectedValue(name: String, value: ByteString, expected: String)
        /// A reply that parsed but makes no sense (e.g. an empty transport).
        case badReply(String)
    }

    public var description: String {
        switch problem {
        case .connect(let e): return "connect to \(peer): \(SystemError.text(e))"
        case .timeout(let what): return "timeout on \(peer) while \(what)"
        case .prematureEnd(let what): return "premature end-of-input on \(peer) while \(what)"
        case .io(let op, let e): return "\(op) \(peer): \(SystemError.text(e))"
        case .closed: return "\(peer): connection is closed"
        case .stringTooLong(let limit): return "string length exceeds limit \(limit) in input from \(peer)"
        case .tooManyAttributes(let limit): return "attribute count exceeds limit \(limit) in input from \(peer)"
        case .missingAttribute(let name): return "missing attribute \(name) in input from \(peer)"
        case .unexpectedAttribute(let name, let expecting):
            return "unexpected attribute \(name) from \(peer) (expecting: \(expecting))"
        case .malformedNumber(let name, let text):
            return "malformed numerical data from \(peer) while reading \(name): \(ByteString(text.bytes.prefix(100)))"
        case .malformedBase64(let name, let text):
            return "malformed base64 data from \(peer) while reading \(name): \(ByteString(text.bytes.prefix(100)))"
        case .unexpectedValue(let name, let value, let expected):
            return "unexpected \(name) \(value) from \(peer) (expected: \(expected))"
        case .badReply(let text): return "\(peer): \(text)"
        }
    }
}
