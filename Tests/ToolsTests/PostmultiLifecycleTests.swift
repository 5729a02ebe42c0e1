// Compares our `postmulti -e create|import|destroy|deport|assign|enable|
// disable` with stock's, step by step, on two identical private namespaces
// (Namespace.preamble): default directory naming (/etc/postfix-NAME,
// /var/spool/postfix-NAME, /var/lib/postfix-NAME land in overlays), explicit
// directories, every refusal of the postmulti(1) part and of the script
// part, the uniqueness checks, destroy of a non-empty instance, deport and
// re-import, and refusals for a running instance (started with stock
// postfix(1), stopped by the driver and, failing that, killed by pid).
// After each step: output (on a terminal), exit status, and the files left
// (names, modes, owners, master.cf digests, and every main.cf up to the order
// of lines stock's postconf appends in its random hash order).
import Foundation
import XCTest
import TestSupport

final class PostmultiLifecycleTests: XCTestCase {
    static let driver = Namespace.preamble + #"""

    prog=$1 out=$2
    state() {
        for d in /etc/postfix-* /var/spool/postfix-* /var/lib/postfix-*; do
            [ -e "$d" ] && find "$d" -printf '%p %M %u %g\n' | sort
        done
        for f in /etc/postfix-*/master.cf; do [ -f "$f" ] && md5sum "$f"; done
        for f in /etc/postfix/main.cf /etc/postfix-*/main.cf; do [ -f "$f" ] && { echo "== $f"; cat "$f"; }; done
    }
    /usr/sbin/postmulti -e init
    n=0
    while IFS= read -r step; do
      n=$((n+1))
      case $step in
      !*) eval "${step#!}" >/dev/null 2>&1 ;;
      *) eval "script -qec \"$prog $step\" /dev/null" < /dev/null > $out/$n.out 2>&1; echo $? > $out/$n.rc
         sed -i "s#$base#BASE#g" $out/$n.out
         state > $out/$n.state ;;
      esac
    done < $out/steps
    namespace_cleanup
    exit 0
    """#

    static let steps = [
        "-e create -I postfix-a -G g", "-e create -I postfix-b -G g", "-e create -I postfix-c -i postfix-b",
        "-e create -I postfix-d -a", "-e create -I postfix-e -g nosuch", "-e create -I postfix-e -i -",
        "-e create -I bad", "-e create -I postfix-a/b", "-e create -I \"'postfix-a b'\"", "-e create -I \"'postfix-a\\$'\"",
        "-e create -I postfix-e -G \"'a b'\"", "-e create config_directory=/etc/postfix-q",
        "-e create -I postfix-e queue_directory=rel", "-e create -I postfix-e queue_directory=///",
        "-e create -I postfix-e foo=/x", "-e create -I postfix-e foo", "-e import -I postfix-e queue_directory=/x",
        "-e create -I postfix-y queue_directory=/var/spool/postfix-a", "-e create -I postfix-y data_directory=/usr/sbin",
        "-e create -I postfix-a config_directory=/etc/postfix-z", "-e create -I postfix-e config_directory=/etc/postfix-e//",
        "-e create -I postfix-f config_directory=\\$base/f-etc queue_directory=\\$base/f-spool data_directory=\\$base/f-lib",
        "-l",
        "-e enable -i postfix-a", "-e destroy -i postfix-a", "-e destroy", "-e destroy -g g", "-e destroy -i -",
        "-e destroy -i nosuch", "-e deport -i postfix-a", "-e disable -i postfix-a",
        "!/usr/sbin/postfix -c /etc/postfix-a start",
        "-e deport -i postfix-a", "-e destroy -i postfix-a",
        "!/usr/sbin/postfix -c /etc/postfix-a stop",
        "-e deport -i postfix-a", "-l",
        "-e import -I postfix-a2 config_directory=/etc/postfix-a", "-e assign -i postfix-a2 -I postfix-b",
        "-e assign -i postfix-a2 -I postfix-a3 -G -",
        "!touch /var/spool/postfix-b/hold/x /var/lib/postfix-b/y; rmdir /var/spool/postfix-b/trace",
        "-e destroy -i postfix-b", "-e import config_directory=/etc/postfix-b",
        "!mkdir /etc/postfix-m; cp /etc/postfix/main.cf.proto /etc/postfix-m/main.cf",
        "-e import config_directory=/etc/postfix-m", "-e create config_directory=/etc/postfix-m",
        "-e create -I postfix-m", "-e deport -i postfix-c", "!rm -rf /etc/postfix-c", "-e deport -i postfix-c",
        "-e destroy -i postfix-d", "-e destroy -i postfix-f", "-e import -I postfix-g config_directory=/etc/postfix-e -a",
        "!/usr/sbin/postconf -e multi_instance_wrapper=", "-e create -I postfix-h",
        "!/usr/sbin/postconf -e multi_instance_wrapper=x multi_instance_enable=no", "-e destroy -i postfix-m",
        "-e init", "-l",
    ]

    func runDriver(_ prog: String, _ out: String) throws {
        try writeFile(out + "/driver.sh", Self.driver)
        try writeFile(out + "/steps", Self.steps.joined(separator: "\n") + "\n")
        let r = try runTool("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/bash", out + "/driver.sh", prog, out],
                            timeout: 600)
        XCTAssertEqual(r.status, 0, "driver for \(prog): \(r.stdout) \(r.stderr)")
    }

    func testLifecycleActionsMatchStock() throws {
        guard try Tools.require([Tools.stockPostmulti, Tools.postmulti, Tools.stockPostfix, "/usr/bin/unshare", "/usr/bin/script"],
                            root: true) else { return }
        let stockOut = try scratchDir("pml-stock"), ourOut = try scratchDir("pml-ours")
        defer { try? FileManager.default.removeItem(atPath: stockOut); try? FileManager.default.removeItem(atPath: ourOut) }
        try runDriver(Tools.stockPostmulti, stockOut)
        try runDriver(Tools.postmulti, ourOut)
        var compared = 0
        let stockPostmulti = try Tools.stockPostmulti
        for (i, step) in Self.steps.enumerated() where !step.hasPrefix("!") {
            let n = i + 1
            func read(_ dir: String, _ what: String) -> String {
                ((try? String(contentsOfFile: "\(dir)/\(n).\(what)", encoding: .utf8)) ?? "<missing>")
                    .replacingOccurrences(of: "\r", with: "")
                    .replacingOccurrences(of: Tools.postmulti, with: stockPostmulti)
            }
            XCTAssertEqual(read(ourOut, "rc"), read(stockOut, "rc"), "exit status of postmulti \(step)")
            XCTAssertEqual(read(ourOut, "out"), read(stockOut, "out"), "output of postmulti \(step)")
            let ours = sections(read(ourOut, "state")), stock = sections(read(stockOut, "state"))
            XCTAssertEqual(ours.map(\.0), stock.map(\.0), "files after postmulti \(step)")
            for (o, s) in zip(ours, stock) {
                XCTAssertTrue(equalUpToAppendedOrder(o.1, s.1), "\(s.0.isEmpty ? "directories" : s.0) after postmulti \(step):\nstock:\n\(s.1)\nours:\n\(o.1)")
            }
            compared += 1
        }
        XCTAssertEqual(compared, Self.steps.filter { !$0.hasPrefix("!") }.count)
        // The comparison saw real effects, not two empty transcripts.
        let first = (try? String(contentsOfFile: ourOut + "/1.state", encoding: .utf8)) ?? ""
        XCTAssertTrue(first.contains("== /etc/postfix-a/main.cf") && first.contains("/var/spool/postfix-a/maildrop drwx-wx--- postfix postdrop"), first)
        XCTAssertTrue(first.contains("multi_instance_directories = /etc/postfix-a"), first)
        let refusal = (try? String(contentsOfFile: ourOut + "/7.out", encoding: .utf8)) ?? ""
        XCTAssertTrue(refusal.contains("postmulti: fatal: New instance name must start with 'postfix-'"), refusal)
        let running = (try? String(contentsOfFile: ourOut + "/33.out", encoding: .utf8)) ?? ""
        XCTAssertTrue(running.contains("fatal: Instance '/etc/postfix-a' is not stopped"), running)
    }
}
