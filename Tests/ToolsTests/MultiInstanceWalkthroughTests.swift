// MULTI_INSTANCE_README as a test, with OUR postfix, postmulti, postconf and
// OUR master running the stock daemons, in a private namespace
// (Namespace.preamble; the machine's Postfix directories are never touched).
// A command directory holds our three tools and links to the other stock
// commands; a daemon directory (contrib/install-daemon-dir) holds our master
// and links to the stock daemons. Walk-through: `postmulti -e init`; create
// postfix-out and postfix-in in group mta; configure them with
// `postmulti -x postconf -e` (main.cf) and `-M#`/`-Me`/`-Fe` (master.cf); enable; `postfix start` starts the default
// instance and both members; a message injected into postfix-in's loopback
// smtpd goes through a content filter (SMTPRelayFilter, in this process) to
// postfix-out and is delivered to a stock smtp-sink; `postmulti -g mta -p
// status|reload|stop`; `-l`; refusals; disable, deport, import, assign,
// destroy; finally `postfix start`/`postfix stop` over all instances.
// Every master is stopped by the tools and, failing that, killed by pid from
// its pid file; smtp-sink is killed by pid.
import Foundation
import XCTest

final class MultiInstanceWalkthroughTests: XCTestCase {
    static let driver = Namespace.preamble + #"""

    ours_dir=$1 master=$2 out=$3 pin=$4 pout=$5 pfilter=$6 psink=$7
    sbin=$base/sbin libexec=$base/libexec
    mkdir -p $sbin $base/sink && chmod 1777 $base/sink
    for f in /usr/sbin/post* /usr/sbin/sendmail; do ln -s "$f" $sbin/; done
    for t in postfix postmulti postconf; do rm -f $sbin/$t; cp "$ours_dir/$t" $sbin/$t; done
    bash "$ours_dir/install-daemon-dir" $libexec "$master" > /dev/null || exit 80
    /usr/sbin/smtp-sink -u nobody -h sink.toolstest -d "$base/sink/%H%M%S." 127.0.0.1:$psink 10 &
    sinkpid=$!
    export PATH=$sbin:/usr/bin:/bin:/usr/sbin:/sbin
    step() { # NAME COMMAND...: on a terminal; output, status
        local name=$1; shift
        script -qec "$*" /dev/null < /dev/null | tr -d '\r' > $out/$name.out; echo "${PIPESTATUS[0]}" > $out/$name.rc
    }
    masters() { # "<instance> <pid> <exe>" for each running master
        for q in /var/spool/postfix /var/spool/postfix-out /var/spool/postfix-in; do
            f=$q/pid/master.pid
            [ -f $f ] || continue
            pid=$(tr -dc 0-9 < $f)
            [ -n "$pid" ] && kill -0 $pid 2>/dev/null && echo "$q $pid $(readlink /proc/$pid/exe)"
        done
    }
    settle() { # wait (at most 10 s) until N masters are left: stop returns when master -t says so
        for i in $(seq 100); do [ "$(masters | wc -l)" -le "$1" ] && return; sleep 0.1; done
    }
    finish() {
        kill -TERM $sinkpid 2>/dev/null; wait $sinkpid 2>/dev/null
        namespace_cleanup
        exit 0
    }
    chroot_off() { postconf -c $1 -Fe '*/*/chroot = n'; }

    # The default instance: our tools (postconf here is ours), our master, no listener.
    postconf -e "command_directory = $sbin" "daemon_directory = $libexec" "myhostname = primary.toolstest" \
        "master_service_disable = inet" || exit 81
    chroot_off /etc/postfix
    step init postmulti -e init
    step create-out postmulti -I postfix-out -G mta -e create
    step create-in postmulti -I postfix-in -G mta -e create
    step list-created postmulti -l
    common="'inet_interfaces = loopback-only' 'inet_protocols = ipv4' 'mynetworks = 127.0.0.0/8' 'master_service_disable ='"
    step conf-out postmulti -i postfix-out -x postconf -e "$common" "'myhostname = out.toolstest'" "'relayhost = [127.0.0.1]:$psink'"
    step conf-in postmulti -i postfix-in -x postconf -e "$common" "'myhostname = in.toolstest'" "'content_filter = smtp:[127.0.0.1]:$pfilter'"
    for i in out in; do
        eval port=\$p$i
        step master-$i postmulti -i postfix-$i -x postconf -M# smtp/inet
        step listener-$i postmulti -i postfix-$i -x postconf -Me "'127.0.0.1:$port/inet = 127.0.0.1:$port inet n - n - - smtpd'"
        step chroot-$i postmulti -i postfix-$i -x postconf -Fe "'*/*/chroot = n'"
    done
    step show-in postmulti -i postfix-in -x postconf -h content_filter myhostname master_service_disable
    step enable-out postmulti -i postfix-out -e enable
    step enable-in postmulti -i postfix-in -e enable
    step list-enabled postmulti -l
    step start postfix start
    masters > $out/masters-started
    step inject /usr/sbin/smtp-source -m 1 -f sender@toolstest.example -t rcpt@example.com 127.0.0.1:$pin
    # smtp-sink creates its dump file at MAIL FROM and fills it at the end of DATA.
    for i in $(seq 60); do
        grep -qs 'X-Filtered-By: toolstest' $base/sink/* && grep -qs 'by out.toolstest' $base/sink/* && break
        sleep 1
    done
    cat $base/sink/* > $out/delivered 2>/dev/null
    step status-mta postmulti -g mta -p status
    step reload-mta postmulti -g mta -p reload
    sleep 1
    masters > $out/masters-reloaded
    step stop-mta postmulti -g mta -p stop
    settle 1
    masters > $out/masters-mta-stopped
    step status-all postfix status
    step list-final postmulti -l
    step destroy-enabled postmulti -i postfix-out -e destroy
    step stop-primary postmulti -i - -p stop
    settle 0
    masters > $out/masters-none
    step disable-in postmulti -i postfix-in -e disable
    step start-in postfix -c /etc/postfix-in start
    step deport-running postmulti -i postfix-in -e deport
    step destroy-running postmulti -i postfix-in -e destroy
    step stop-in postfix -c /etc/postfix-in stop
    step deport-in postmulti -i postfix-in -e deport
    step list-deported postmulti -l
    step alternates postconf -h alternate_config_directories multi_instance_directories
    step import-in postmulti -e import -I postfix-in -G mta config_directory=/etc/postfix-in
    step list-imported postmulti -l
    step assign-in postmulti -i postfix-in -e assign -I postfix-in2 -G spare
    step assign-dup postmulti -i postfix-in2 -e assign -I postfix-out
    step create-dup postmulti -e create -I postfix-out
    step list-assigned postmulti -l
    step destroy-in postmulti -i postfix-in2 -e destroy
    ls -d /etc/postfix-in > $out/in-left 2>&1
    step list-destroyed postmulti -l
    step start-all postfix start
    masters > $out/masters-restarted
    step stop-all postfix stop
    settle 0
    masters > $out/masters-end
    finish
    """#

    func testWalkthroughWithOurToolsAndMaster() throws {
        let master = ProcessInfo.processInfo.environment["MAILHOST_MASTER"] ?? Tools.productsDir + "/master"
        guard Tools.require([Tools.postmulti, Tools.postfix, Tools.postconf, master, "/usr/sbin/smtp-sink",
                             "/usr/sbin/smtp-source", "/usr/bin/unshare", "/usr/bin/script"], root: true) else { return }
        let out = try scratchDir("walk")
        let tools = out + "/tools"
        defer { try? FileManager.default.removeItem(atPath: out) }
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        for t in ["postfix", "postmulti", "postconf"] {
            try FileManager.default.copyItem(atPath: Tools.productsDir + "/" + t, toPath: tools + "/" + t)
        }
        try FileManager.default.copyItem(atPath: Tools.packageRoot + "/contrib/install-daemon-dir", toPath: tools + "/install-daemon-dir")
        let pin = try freeLoopbackPort(), pout = try freeLoopbackPort(), psink = try freeLoopbackPort()
        let filter = try SMTPRelayFilter(nextPort: pout)
        filter.start()
        defer { filter.stop() }
        try writeFile(out + "/driver.sh", Self.driver)
        let r = try runTool("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/bash", out + "/driver.sh",
                                                 tools, master, out, "\(pin)", "\(pout)", "\(filter.port)", "\(psink)"],
                            timeout: 600)
        XCTAssertEqual(r.status, 0, "driver: \(r.stdout) \(r.stderr)")
        func text(_ name: String) -> String { (try? String(contentsOfFile: out + "/" + name, encoding: .utf8)) ?? "<missing \(name)>" }
        func step(_ name: String, _ rc: Int, _ output: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(text(name + ".rc"), "\(rc)\n", "exit status of \(name): \(text(name + ".out"))", file: file, line: line)
            if let o = output { XCTAssertEqual(text(name + ".out"), o, "output of \(name)", file: file, line: line) }
        }
        let pidMasked = { (s: String) in s.replacingOccurrences(of: #"PID: [0-9]+"#, with: "PID: N", options: .regularExpression) }

        for s in ["init", "create-out", "create-in", "conf-out", "conf-in", "enable-out", "enable-in",
                  "master-out", "master-in", "listener-out", "listener-in", "chroot-out", "chroot-in"] { step(s, 0, "") }
        step("list-created", 0, """
            -               -               y         /etc/postfix
            postfix-out     mta             n         /etc/postfix-out
            postfix-in      mta             n         /etc/postfix-in

            """)
        step("show-in", 0, "smtp:[127.0.0.1]:\(filter.port)\nin.toolstest\n\n")
        step("list-enabled", 0, """
            -               -               y         /etc/postfix
            postfix-out     mta             y         /etc/postfix-out
            postfix-in      mta             y         /etc/postfix-in

            """)
        // postfix start: the default instance and both members, each run by our master.
        step("start", 0)
        XCTAssertEqual(text("start.out").components(separatedBy: "starting the Postfix mail system").count - 1, 3, text("start.out"))
        let started = text("masters-started").split(separator: "\n")
        XCTAssertEqual(started.map { String($0.split(separator: " ")[0]) },
                       ["/var/spool/postfix", "/var/spool/postfix-out", "/var/spool/postfix-in"], text("masters-started"))
        XCTAssertTrue(started.allSatisfy { $0.hasSuffix("/libexec/master") }, "our master runs each instance: \(started)")

        // The message went postfix-in -> filter -> postfix-out -> sink.
        step("inject", 0)
        let delivered = text("delivered")
        XCTAssertEqual(filter.relayed, 1, "the content filter relayed the message")
        XCTAssertTrue(delivered.contains("X-Filtered-By: toolstest"), "delivered: \(delivered)")
        XCTAssertTrue(delivered.contains("by in.toolstest (Postfix)"), "passed postfix-in: \(delivered)")
        XCTAssertTrue(delivered.contains("by out.toolstest (Postfix)"), "passed postfix-out: \(delivered)")
        XCTAssertTrue(delivered.contains("rcpt@example.com"), delivered)

        step("status-mta", 0)
        XCTAssertEqual(pidMasked(text("status-mta.out")), """
            postfix-out/postfix-script: the Postfix mail system is running: PID: N
            postfix-in/postfix-script: the Postfix mail system is running: PID: N

            """)
        step("reload-mta", 0, "postfix-out/postfix-script: refreshing the Postfix mail system\n"
             + "postfix-in/postfix-script: refreshing the Postfix mail system\n")
        XCTAssertEqual(text("masters-reloaded"), text("masters-started"), "reload keeps every master")
        // stop: reverse order, members only.
        step("stop-mta", 0, "postfix-in/postfix-script: stopping the Postfix mail system\n"
             + "postfix-out/postfix-script: stopping the Postfix mail system\n")
        XCTAssertEqual(text("masters-mta-stopped").split(separator: "\n").map { String($0.split(separator: " ")[0]) },
                       ["/var/spool/postfix"])
        step("status-all", 1)
        XCTAssertEqual(pidMasked(text("status-all.out")), """
            postfix/postfix-script: the Postfix mail system is running: PID: N
            postfix-out/postfix-script: the Postfix mail system is not running
            postfix-in/postfix-script: the Postfix mail system is not running

            """)
        step("destroy-enabled", 1, "postmulti: fatal: Cannot remove enabled instances\n")
        step("stop-primary", 0, "postfix/postfix-script: stopping the Postfix mail system\n")
        XCTAssertEqual(text("masters-none"), "")
        step("disable-in", 0, "")
        step("start-in", 0)
        step("deport-running", 1, "postfix/postmulti-script: fatal: Instance '/etc/postfix-in' is not stopped\n")
        step("destroy-running", 1, "postfix/postmulti-script: fatal: Instance '/etc/postfix-in' is not stopped\n")
        step("stop-in", 0, "postfix-in/postfix-script: stopping the Postfix mail system\n")
        step("deport-in", 0, "")
        step("list-deported", 0, """
            -               -               y         /etc/postfix
            postfix-out     mta             y         /etc/postfix-out

            """)
        step("alternates", 0, "/etc/postfix-in\n/etc/postfix-out\n")
        step("import-in", 0, "")
        step("list-imported", 0, """
            -               -               y         /etc/postfix
            postfix-out     mta             y         /etc/postfix-out
            postfix-in      mta             n         /etc/postfix-in

            """)
        step("assign-in", 0, "")
        step("assign-dup", 1, "postmulti: fatal: instance /etc/postfix-in, multi_instance_name=postfix-out conflicts with instance /etc/postfix-out, multi_instance_name=postfix-out\n")
        step("create-dup", 1, "postmulti: fatal: new config_directory=/etc/postfix-out is already in use by instance /etc/postfix-out, config_directory=/etc/postfix-out\n")
        step("list-assigned", 0, """
            -               -               y         /etc/postfix
            postfix-out     mta             y         /etc/postfix-out
            postfix-in2     spare           n         /etc/postfix-in

            """)
        step("destroy-in", 0)
        XCTAssertTrue(text("in-left").contains("No such file or directory"), "config directory removed: \(text("in-left"))")
        step("list-destroyed", 0, """
            -               -               y         /etc/postfix
            postfix-out     mta             y         /etc/postfix-out

            """)
        // The wrapper over all instances: start in order, stop in reverse.
        step("start-all", 0)
        XCTAssertEqual(text("start-all.out").split(separator: "\n").filter { !$0.contains("warning: symlink leaves directory") },
                       ["postfix/postfix-script: starting the Postfix mail system",
                        "postfix-out/postfix-script: starting the Postfix mail system"])
        XCTAssertEqual(text("masters-restarted").split(separator: "\n").count, 2, text("masters-restarted"))
        step("stop-all", 0, "postfix-out/postfix-script: stopping the Postfix mail system\n"
             + "postfix/postfix-script: stopping the Postfix mail system\n")
        XCTAssertEqual(text("masters-end"), "")
    }
}
