// Compares our postmulti with stock /usr/sbin/postmulti inside a private
// mount namespace (unshare -m) where temporary directories are bind-mounted
// over /etc/postfix, /var/spool/postfix and /var/lib/postfix, so the real
// ones are never touched. Secondaries are made by stock `postmulti -e create`
// (fixture); each scenario runs on a saved copy of the configuration for
// stock and for ours, and the printed output, exit status and main.cf files
// are compared.
import Foundation
import XCTest
import TestSupport

final class PostmultiComparisonTests: XCTestCase {
    static let driver = #"""
    set -u
    stock=$1 ours=$2 out=$3
    base=$(mktemp -d /tmp/pm-ns.XXXXXX)
    mkdir -p $base/etc $base/spool $base/lib
    cp -a /etc/postfix/. $base/etc/
    rm -f $base/etc/main.cf $base/etc/master.cf
    : > $base/etc/main.cf
    cp /etc/postfix/master.cf.proto $base/etc/master.cf
    printf 'compatibility_level = 3.6\ninet_interfaces = loopback-only\ninet_protocols = ipv4\n' >> $base/etc/main.cf
    mount --bind $base/etc /etc/postfix && mount --bind $base/spool /var/spool/postfix && mount --bind $base/lib /var/lib/postfix || exit 99
    chown postfix /var/lib/postfix
    postfix check >/dev/null 2>&1
    /usr/sbin/postmulti -e init
    /usr/sbin/postmulti -e create -I postfix-out -G mta config_directory=$base/out-etc queue_directory=$base/out-spool data_directory=$base/out-lib >/dev/null 2>&1 || exit 98
    /usr/sbin/postmulti -e create -I postfix-in -G mta config_directory=$base/in-etc queue_directory=$base/in-spool data_directory=$base/in-lib >/dev/null 2>&1 || exit 97
    /usr/sbin/postmulti -e create -I postfix-lone config_directory=$base/lone-etc queue_directory=$base/lone-spool data_directory=$base/lone-lib >/dev/null 2>&1 || exit 96
    for d in /etc/postfix $base/out-etc $base/in-etc $base/lone-etc; do cp $d/main.cf $d/main.cf.saved; done
    n=0
    while IFS= read -r args; do
      n=$((n+1))
      for who in stock ours; do
        prog=${!who}
        for d in /etc/postfix $base/out-etc $base/in-etc $base/lone-etc; do cp $d/main.cf.saved $d/main.cf; done
        eval "script -qec \"$prog $args\" /dev/null" < /dev/null > $out/$n.$who.out 2>&1; echo $? > $out/$n.$who.rc
        sed -i "s#$base#BASE#g" $out/$n.$who.out
        cat /etc/postfix/main.cf $base/out-etc/main.cf $base/in-etc/main.cf $base/lone-etc/main.cf > $out/$n.$who.files
      done
      echo "$args" > $out/$n.args
    done < $out/scenarios
    umount /var/lib/postfix /var/spool/postfix /etc/postfix
    rm -rf $base
    exit 0
    """#

    static let scenarios = [
        "-l", "-l -a", "-l -g mta", "-l -i postfix-in", "-l -i -", "-l -i \\$base/out-etc", "-l -R", "-l -g nosuch",
        "-x printenv MAIL_CONFIG multi_instance_name multi_instance_group multi_instance_enable config_directory",
        "-x -g mta printenv multi_instance_name queue_directory data_directory PATH",
        "-x -i nosuch true", "-x false", "-p status", "-p -g mta status", "-p stop", "-p reload",
        "-e enable -i postfix-out", "-e disable -i postfix-in", "-e enable", "-e enable -i nosuch",
        "-e assign -i postfix-lone -G solo", "-e assign -i postfix-lone -I postfix-solo -G -",
        "-e assign -i postfix-lone -I bad", "-e bogus", "-l -a -g mta", "-l -x", "-p", "-e init -I x",
        "-l extra", "-e enable -i postfix-out a=b", "-R -p status", "-e assign -i postfix-out",
    ]

    func testPostmultiMatchesStockInPrivateNamespace() throws {
        guard try Tools.require([Tools.stockPostmulti, Tools.postmulti, Tools.postfix, "/usr/bin/unshare", "/usr/bin/script"],
                            root: true) else { return }
        let out = try scratchDir("pm")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try writeFile(out + "/driver.sh", Self.driver)
        try writeFile(out + "/scenarios", Self.scenarios.joined(separator: "\n") + "\n")
        let r = try runTool("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/bash", out + "/driver.sh",
                                                 Tools.stockPostmulti, Tools.postmulti, out], timeout: 300)
        XCTAssertEqual(r.status, 0, "driver: \(r.stdout) \(r.stderr)")
        for n in 1...Self.scenarios.count {
            let args = Self.scenarios[n - 1]
            func read(_ who: String, _ what: String) -> String {
                ((try? String(contentsOfFile: "\(out)/\(n).\(who).\(what)", encoding: .utf8)) ?? "<missing>")
                    .replacingOccurrences(of: "\r", with: "")
                    .replacingOccurrences(of: Tools.postmulti, with: "/usr/sbin/postmulti")
            }
            XCTAssertEqual(read("ours", "rc"), read("stock", "rc"), "exit status of postmulti \(args)")
            XCTAssertEqual(read("ours", "out"), read("stock", "out"), "output of postmulti \(args)")
            XCTAssertEqual(read("ours", "files"), read("stock", "files"), "main.cf files after postmulti \(args)")
        }
    }
}
