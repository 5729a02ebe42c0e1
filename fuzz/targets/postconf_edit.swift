// postconf_edit - postconf's editors: the first line of the input is the
// request (its first byte picks -e, -X, -#, -Me, -MX, -M#, -Fe, -Pe or -PX;
// the rest of the line, split at tabs, are the operands), the remainder is
// the main.cf or master.cf text to edit. Operands go through postconf's own
// checks (nameValue, bareName, MasterCfRequests) before the edit is applied.
@testable import PostconfKit
import PostfixConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPostconfEdit(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let kind = Int(input.byte()) % 9
    let operands = input.line().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    let text = input.rest()
    switch kind {
    case 0:
        guard let pairs = try? operands.map(PostconfCommand.nameValue) else { return 0 }
        let edited = MainCfEditor.apply(.set(pairs), to: text)
        // Stock appends new names without adding a newline before them.
        if text.last == nil || text.last == UInt8(ascii: "\n") { checkMainSet(pairs, edited) }
    case 1, 2:
        guard let names = try? operands.map(PostconfCommand.bareName) else { return 0 }
        let edited = MainCfEditor.apply(kind == 1 ? .remove(names) : .commentOut(names), to: text)
        require(edited.count >= text.count || kind == 1, "-# made the text shorter")
    default:
        let requests: [(MasterCfRequests.Table, MasterCfRequests.Action)] = [
            (.master, .set), (.master, .remove), (.master, .comment),
            (.fields, .set), (.parameters, .set), (.parameters, .remove)]
        let (table, action) = requests[kind - 3]
        guard let edit = try? MasterCfRequests.edit(table, action, operands) else { return 0 }
        _ = try? MasterCfEditor.apply(edit, to: text, path: "/fuzz/master.cf")
    }
    return 0
}

/// After -e on a text that ends a line, main.cf read back holds each requested value (the last request
/// for a name wins) whenever the edited text parses at all.
private func checkMainSet(_ pairs: [(String, String)], _ edited: [UInt8]) {
    guard pairs.allSatisfy({ plain($0.0) && plain($0.1) }),
          let config = try? MainConfig.parse(text: String(decoding: edited, as: UTF8.self), path: "/fuzz/main.cf",
                                             configDirectory: "/fuzz") else { return }
    var expected: [String: String] = [:]
    for (name, value) in pairs { expected[name] = value }
    for (name, value) in expected {
        require(config.rawValue(name) == value, "-e \(name)=\(value) reads back as \(config.rawValue(name) ?? "nothing")")
    }
}

/// Names and values without bytes that main.cf syntax gives a meaning of its own.
private func plain(_ text: String) -> Bool {
    !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "#") }
}
