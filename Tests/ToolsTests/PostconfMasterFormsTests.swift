// postconf's master.cf forms against stock, table-driven: every query and
// edit form of -M, -F and -P, with and without "= value" (which makes any of
// them an edit, as -e would), -Me/-MX/-M#/-Fe/-Pe/-PX, services that do not
// exist, bad service patterns, bad field names and types, wildcards, flags
// that do not combine, folding (-f), expansion (-x), -h/-H; on samples with
// continuation lines and comments, with "-o" settings that are unused,
// undefined, read-only, raw or validated by references from either file,
// and Debian's master.cf.proto. Each case compares exit status, stdout,
// stderr and both files byte for byte (PostconfPair).
import Foundation
import XCTest
import TestSupport

final class PostconfMasterFormsTests: XCTestCase {
    /// Continuation lines with comments between them (shared with the edit tests).
    static let interleaved = PostconfMasterEditTests.interleaved

    /// Settings that exercise the "unused", "undefined" and "read-only" warnings.
    static let references = """
        a unix - - n - - x -o p=$q -o q=1 -o process_id=5 -o r=$undef1
        b unix - - n - - smtp -o b_x=$fallback_relay -o syslog_name=postfix/$service_name -o b_time_limit=3
        c unix - - n - - pipe flags=R argv=/bin/echo ${recipient} -o c_x=1
          -o c_time_limit=5
        d unix - - n - - x -o smtpd_restriction_classes=cls1,cls2 -o cls1=permit -oz=1 -- -o notparam=1
        e unix - - n - - x -o foo -o =bar -o mailbox_command=$notscanned -o mf=2
        sp unix - n n - - spawn user=nobody argv=/bin/true -o sp_time_limit=1 -o sp_recipient_limit=1
        long unix - - n - - /very/long/path/to/some/command/that/goes/on/and/on/and/on/and/on/for/ever arg1 -o k=v

        """
    static let referencesMain = """
        mf = $q
        cls2 = x
        process_name = y
        fallback_relay = fr
        unused_main = 1
        smtpd_restriction_classes = rc1
        rc1 = 1
        alias_maps = hash:/etc/aliases,
          hash:/etc/other
        mb = $undef2 $undef2

        """

    static let cases: [[String]] = [
        ["-M"], ["-M", "a/unix"], ["-M", "a"], ["-M", "zz"], ["-M", "zz/unix"], ["-M", "a/bogus"],
        ["-M", "a/unix/x"], ["-M", "*/unix"], ["-M", "a/unix", "a/unix"], ["-M", "a", "*"], ["-M", "/unix"],
        ["-M", "a/"], ["-M", ""], ["-M", "a/unix = a unix - - n - - y"], ["-M", "zz/unix = zz unix - - n - - y"],
        ["-M", "a/unix="], ["-M", "a = x"], ["-M", "a/unix", "b/unix = x"], ["-Mh"], ["-MH"], ["-Mx"],
        ["-Mf", "a/unix"], ["-F"], ["-F", "a/unix/command"], ["-F", "a/unix"], ["-F", "a"], ["-F", "a/unix/*"],
        ["-F", "a/*/wakeup"], ["-F", "a/unix/bogus"], ["-F", "zz/unix/command"], ["-F", "a/bogus/wakeup"],
        ["-F", "a/unix/command = foo"], ["-F", "zz/unix/command = foo"], ["-F", "a/unix/bogus = 1"],
        ["-F", "a/unix/type = bad"], ["-F", "a/unix/wakeup = 1 2"], ["-F", "a/unix/command/x"], ["-F", ""],
        ["-F", "a/unix/command", "b/unix/command = x"], ["-F", "a/unix/command", "a/unix/command"],
        ["-Fh", "a/unix/command"], ["-FH", "a/unix"], ["-Fx", "a/unix/command"], ["-Ff"], ["-P"], ["-P", "a/unix/p"],
        ["-P", "a/unix"], ["-P", "a"], ["-P", "a/unix/*"], ["-P", "zz/unix/p"], ["-P", "a/unix/nosuch"],
        ["-P", "a/unix/p = 3"], ["-P", "zz/unix/p = 3"], ["-P", "a/unix/p=a b"], ["-P", "a/unix/p/x"],
        ["-P", "a/unix/p", "a/unix/p"], ["-P", "*/*/p", "a/unix/q"], ["-Ph"], ["-PH"], ["-Px"], ["-Pf"],
        ["-Me", "a/unix = a unix - - y - - x2"], ["-Me", "zz/unix = zz unix - - y - - x2"], ["-Me", "a/unix"],
        ["-Me", "a/unix = a unix"], ["-Me", "a/unix = a bad - - y - - x"], ["-Me", "# a/unix = a unix - - n - - x"],
        ["-Me", "a/unix = a unix - - n - - x"], ["-Me", "*/unix = a unix - - n - - y"], ["-MX", "a/unix"],
        ["-MX", "zz/unix"], ["-MX", "a"], ["-MX", "a/unix = x"], ["-M#", "a/unix"], ["-M#", "zz/unix"],
        ["-M#", "a/unix=1"], ["-Fe", "a/unix/command = foo bar"], ["-Fe", "zz/unix/command = foo"],
        ["-Fe", "a/unix/bogus = 1"], ["-Fe", "a/unix/* = 1"], ["-Fe", "a/unix/wakeup = 1 2"],
        ["-Fe", "a/unix/type = bad"], ["-Fe", "a/unix/type = inet"], ["-Fe", "a/unix/chroot = q"],
        ["-Fe", "a/unix/process_limit = -1"], ["-Fe", "a/unix/command"], ["-Fe", "a/unix = 1"],
        ["-Fe", "a/zz/wakeup = 5"], ["-FX", "a/unix/wakeup"], ["-F#", "a/unix/wakeup"], ["-Pe", "a/unix/p = 3"],
        ["-Pe", "zz/unix/p = 3"], ["-Pe", "a/unix/* = 3"], ["-Pe", "a/unix/p = a b"], ["-Pe", "a/unix/p"],
        ["-Pe", "a/unix = 3"], ["-Pe", "a/unix/new = 5"], ["-PX", "a/unix/p"], ["-PX", "zz/unix/p"],
        ["-PX", "a/unix/*"], ["-PX", "a/unix/nosuch"], ["-PX", "a/unix/p = 3"], ["-P#", "a/unix/p"], ["-M", "-F"],
        ["-M", "-P"], ["-F", "-P"], ["-M", "-h"], ["-M", "-n"], ["-P", "-d"], ["-F", "-X", "a/unix/p"],
        ["-M", "-e", "-X", "a"], ["-Mn"], ["-Fd"], ["-Fn", "a"], ["-Pn"], ["-M", ""], ["-F", ""], ["-P", ""],
        ["-Me", "a/unix = a unix - - n - - y\nb"], ["-Fe", " #a/unix/command = x"],
        ["-Fe", "a/unix/command = x -- -o p=1"], ["-M", "a*"], ["-F", "a/unix/command*"], ["-P", "*a"], ["-X", "a"],
        ["-#"], ["-MX"], ["-Fe"], ["-M", "a//unix"], ["-F", "a//unix//command"], ["-e"], ["-fe", "a=1"],
        ["-Pe", "a/unix/p = 1", "zz/unix/q = 2", " zz/unix/r = 3"], ["-PX", " zz/unix/p"],
        ["-x", "-M", "a"], ["-FHx", "a/unix/command"]
    ]

    func testEveryMasterFormMatchesStock() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        let proto = try String(contentsOfFile: "/etc/postfix/master.cf.proto", encoding: .utf8)
        let samples = [("interleaved", Self.interleaved, ""), ("references", Self.references, Self.referencesMain),
                       ("proto", proto, "")]
        var compared = 0
        for (name, master, main) in samples {
            let pair = PostconfPair(files: ["master.cf": master, "main.cf": main])
            for (args, differences) in zip(Self.cases, try pair.differences(eachOf: Self.cases)) {
                XCTAssertEqual(differences, [], "postconf \(args) on the \(name) sample:\n" + differences.joined(separator: "\n"))
                compared += 1
            }
        }
        XCTAssertEqual(compared, Self.cases.count * samples.count)
    }

    /// The defect as reported: a -F query carrying "= value" for an existing
    /// service is an edit (stock stays silent and edits), and for a missing
    /// service stock's warning says "unmatched service_name/type".
    func testFieldQueryWithValueIsAnEdit() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        let dir = try scratchDir("pcforms")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFile(dir + "/master.cf", Self.interleaved)
        try writeFile(dir + "/main.cf", "")
        let edit = try runTool(Tools.postconf, ["-c", dir, "-F", "a/unix/command = foo"])
        XCTAssertEqual(edit.status, 0)
        XCTAssertEqual(edit.stderr, "", "no warning for an existing service")
        XCTAssertTrue(try String(contentsOfFile: dir + "/master.cf", encoding: .utf8).contains("\na          unix  -       -       n       -       -       foo\n"))
        let missing = try runTool(Tools.postconf, ["-c", dir, "-F", "zz/unix/command = foo"])
        XCTAssertEqual(withoutProgram(missing.stderr), "warning: unmatched service_name/type: \"zz/unix/command = foo\"\n")
    }
}
