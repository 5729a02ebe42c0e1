// local_tables - MailQueue's regexp and cidr tables (the pre-jail tables of
// fast_flush_domains) on any table text and keys: never a trap, and a
// lookup's result, when there is one, is the same when asked again.
// Input: a mode byte (even: regexp, odd: cidr), the table text up to a NUL,
// then keys, one per line. Two kinds of regular expression are left out,
// because glibc itself is exponential on them (time in regexec for a back
// reference "\1", memory in regcomp for nested repetitions: it copies the
// operand of each "+" and "{n}", so "a+++..." or "((a{99}){99}){99}" grow
// as a power), as it would be in stock, and exhausting the fuzzer's limits
// is not the defect this target looks for: a table with more than 12 "+"
// or more than 2 "{" is skipped.
@testable import MailQueue
import PostfixText

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLocalTables(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let regexp = input.byte() % 2 == 0
    let text = input.field(until: 0)
    guard text.count <= 2048, !hasBackReference(text), !hasManyRepetitions(text) else { return 0 }
    let items = LogicalLineReader.items(text)
    var warnings: [String] = []
    let lookup: ([UInt8]) -> [UInt8]?
    if regexp {
        let table = RegexpTable(name: "fuzz", items: items, source: "fuzz", warnings: &warnings)
        lookup = table.lookup
    } else {
        let table = CidrTable(name: "fuzz", items: items, source: "fuzz", warnings: &warnings)
        lookup = table.lookup
    }
    for _ in 0..<8 where !input.atEnd {
        let key = Array(input.field(until: UInt8(ascii: "\n")).prefix(64))
        let first = lookup(key)
        require(lookup(key) == first, "lookup of \(key) changed between two calls")
    }
    // The inline form goes through the brace parser first.
    _ = LocalTable.open((regexp ? "regexp:{" : "cidr:{") + String(decoding: text.prefix(256), as: UTF8.self) + "}", dump: nil)
    return 0
}

private func hasBackReference(_ text: [UInt8]) -> Bool {
    zip(text, text.dropFirst()).contains { $0 == UInt8(ascii: "\\") && (0x31...0x39).contains($1) }
}

private func hasManyRepetitions(_ text: [UInt8]) -> Bool {
    text.count { $0 == UInt8(ascii: "+") } > 12 || text.count { $0 == UInt8(ascii: "{") } > 2
}
