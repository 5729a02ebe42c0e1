// RecipientOrder: the order stock qmgr sorts a batch's recipients in, before
// and after routing them: routed recipients first, by transport name, then
// by per-destination queue name (byte order); then by domain (the text from
// the last "@", compared without regard to ASCII case; addresses without
// "@" last); then by the whole address (byte order). The order decides
// which recipient a REDIRECT keeps and how recipients are grouped into
// delivery requests, so it must be stock's.
import MailQueue

enum RecipientOrder {
    /// Before routing: domain, then address.
    static func precedes(_ a: QueuedRecipient, _ b: QueuedRecipient) -> Bool {
        compareAddresses(a.address, b.address) < 0
    }

    /// After routing: transport, queue name, domain, address.
    static func precedes(_ a: RoutedRecipient, _ b: RoutedRecipient) -> Bool {
        if a.route.transport != b.route.transport { return a.route.transport < b.route.transport }
        if a.route.queueName != b.route.queueName { return a.route.queueName < b.route.queueName }
        return compareAddresses(a.recipient.address, b.recipient.address) < 0
    }

    static func compareAddresses(_ a: ByteString, _ b: ByteString) -> Int {
        let atA = a.bytes.lastIndex(of: UInt8(ascii: "@")), atB = b.bytes.lastIndex(of: UInt8(ascii: "@"))
        switch (atA, atB) {
        case (nil, .some): return 1
        case (.some, nil): return -1
        case (.some(let i), .some(let j)):
            let c = compareIgnoringASCIICase(a.bytes[i...], b.bytes[j...])
            if c != 0 { return c }
        case (nil, nil): break
        }
        if a == b { return 0 }
        return a < b ? -1 : 1
    }

    static func compareIgnoringASCIICase(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        for (x, y) in zip(a, b) {
            let (lx, ly) = (lower(x), lower(y))
            if lx != ly { return lx < ly ? -1 : 1 }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    static func lower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c }
}
