// PostconfPair: runs stock postconf (StockBinaries-verified) and ours with
// the same arguments on identical copies of the same files, and lists every
// difference: exit status, stdout, stderr and each file afterwards, byte for
// byte, with two normalisations only:
// - the program path in diagnostics ("<argv[0]>: ") and the scratch
//   directory's name, which necessarily differ between the two runs;
// - the order inside a run of consecutive "unused parameter" warnings, or of
//   consecutive "undefined parameter"/"read-only parameter assignment"
//   warnings: stock prints those while walking hash tables whose seed is
//   random per process (two stock runs disagree), so only their multiset is
//   defined. Everything around such a run keeps its exact position.
import Foundation
import XCTest
import TestSupport

struct PostconfPair {
    /// File name -> content, written to both directories before each run.
    let files: [String: String]

    /// Descriptions of the differences between stock and ours for `args` (empty: none).
    func differences(_ args: [String]) throws -> [String] {
        let stock = try scratchDir("pcpair-s"), ours = try scratchDir("pcpair-o")
        defer { try? FileManager.default.removeItem(atPath: stock); try? FileManager.default.removeItem(atPath: ours) }
        for dir in [stock, ours] {
            for (name, text) in files { try writeSettledFile(dir + "/" + name, text) }
        }
        let s = try runTool(try Tools.stockPostconf, ["-c", stock] + args)
        let o = try runTool(Tools.postconf, ["-c", ours] + args)
        var found: [String] = []
        func compare(_ what: String, _ mine: String, _ theirs: String) {
            if mine != theirs { found.append("\(what) differs:\n--- stock:\n\(theirs)\n--- ours:\n\(mine)") }
        }
        compare("exit status", "\(o.status)", "\(s.status)")
        compare("stdout", o.stdout.replacingOccurrences(of: ours, with: "DIR"), s.stdout.replacingOccurrences(of: stock, with: "DIR"))
        compare("stderr", Self.normalized(o.stderr, dir: ours), Self.normalized(s.stderr, dir: stock))
        for name in files.keys.sorted() {
            let mine = readFile(ours + "/" + name).map { String(decoding: $0, as: UTF8.self) } ?? "<missing>"
            let theirs = readFile(stock + "/" + name).map { String(decoding: $0, as: UTF8.self) } ?? "<missing>"
            compare(name, mine, theirs)
        }
        return found
    }

    /// `differences` for every case, several at a time: stock sleeps a second
    /// before each fatal exit, which would otherwise dominate a long table.
    func differences(eachOf cases: [[String]], width: Int = 8) throws -> [[String]] {
        /// Results by case index, filled under a lock by the workers.
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var items: [Result<[String], Error>?]
            init(_ count: Int) { items = Array(repeating: nil, count: count) }
            func set(_ i: Int, _ r: Result<[String], Error>) { lock.lock(); items[i] = r; lock.unlock() }
        }
        let results = Results(cases.count)
        let slots = DispatchSemaphore(value: width)
        let group = DispatchGroup()
        for (i, args) in cases.enumerated() {
            slots.wait()
            DispatchQueue.global().async(group: group) {
                let result = Result { try self.differences(args) }
                results.set(i, result)
                slots.signal()
            }
        }
        group.wait()
        return try results.items.map { try ($0 ?? .failure(ToolError("case not run"))).get() }
    }

    static func normalized(_ stderr: String, dir: String) -> String {
        sortingHashOrderedRuns(withoutProgram(stderr).replacingOccurrences(of: dir, with: "DIR"))
    }

    /// The kind of a hash-ordered warning, nil for other lines.
    static func hashOrderedKind(_ line: Substring) -> Int? {
        if line.contains(": unused parameter: ") { return 1 }
        if line.contains(": undefined parameter: ") || line.contains(": read-only parameter assignment: ") { return 2 }
        return nil
    }

    /// `text` with each run of consecutive same-kind hash-ordered warnings sorted in place.
    static func sortingHashOrderedRuns(_ text: String) -> String {
        var out: [Substring] = []
        var run: [Substring] = []
        var runKind: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let kind = hashOrderedKind(line)
            if kind != nil && kind == runKind { run.append(line); continue }
            out += run.sorted()
            run = kind == nil ? [] : [line]
            runKind = kind
            if kind == nil { out.append(line) }
        }
        out += run.sorted()
        return out.joined(separator: "\n")
    }
}

/// Writes `text` with a modification time a minute back: stock waits (up to
/// about two seconds, in 0.3 s steps, reading the file again each time) for a
/// main.cf modified within the current second to settle.
func writeSettledFile(_ path: String, _ text: String) throws {
    try writeFile(path, text)
    try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: path)
}
