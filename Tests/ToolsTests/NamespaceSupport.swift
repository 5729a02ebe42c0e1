// Private mount namespace support for tests that let postmulti(1) work on
// the default instance: a shell preamble that, inside `unshare -m`, puts
// overlay file systems over /etc, /var/spool and /var/lib (so instances
// created next to the default one, e.g. /etc/postfix-out, land in scratch
// space) and then binds fresh scratch directories over /etc/postfix,
// /var/spool/postfix and /var/lib/postfix, seeded with Debian's meta files.
// The machine's own directories are never written. Also: comparison of
// main.cf text up to the order of appended lines (stock postconf appends
// several new names in a randomly seeded hash order).
import Foundation

enum Namespace {
    /// Bash text: sets $base, mounts, seeds a minimal default instance.
    /// Exits 90-99 when a mount fails; call `namespace_cleanup` at the end.
    static let preamble = #"""
    set -u
    base=$(mktemp -d /tmp/toolsns.XXXXXX)
    chmod 755 $base
    for d in etc spool lib; do mkdir -p $base/ov/$d-up $base/ov/$d-work; done
    mount -t overlay overlay -o lowerdir=/etc,upperdir=$base/ov/etc-up,workdir=$base/ov/etc-work /etc || exit 90
    mount -t overlay overlay -o lowerdir=/var/spool,upperdir=$base/ov/spool-up,workdir=$base/ov/spool-work /var/spool || exit 91
    mount -t overlay overlay -o lowerdir=/var/lib,upperdir=$base/ov/lib-up,workdir=$base/ov/lib-work /var/lib || exit 92
    mkdir -p $base/etc $base/spool $base/lib
    cp -a /etc/postfix/. $base/etc/
    rm -f $base/etc/main.cf $base/etc/master.cf
    : > $base/etc/main.cf
    cp /etc/postfix/master.cf.proto $base/etc/master.cf
    printf 'compatibility_level = 3.6\ninet_interfaces = loopback-only\ninet_protocols = ipv4\n' >> $base/etc/main.cf
    mount --bind $base/etc /etc/postfix && mount --bind $base/spool /var/spool/postfix && mount --bind $base/lib /var/lib/postfix || exit 93
    chown postfix /var/lib/postfix
    /usr/sbin/postfix check >/dev/null 2>&1
    namespace_cleanup() {
        for f in /var/spool/postfix*/pid/master.pid $base/*/pid/master.pid; do
            [ -f "$f" ] || continue
            pid=$(tr -dc 0-9 < "$f")
            [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && sleep 1 && kill -KILL -- "-$pid" 2>/dev/null
        done
        umount /var/lib/postfix /var/spool/postfix /etc/postfix
        umount /var/lib /var/spool /etc
        rm -rf $base
    }
    """#
}

/// Equal, or equal up to the order of the lines from the first difference on.
func equalUpToTailOrder(_ a: String, _ b: String) -> Bool {
    let la = a.split(separator: "\n", omittingEmptySubsequences: false)
    let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
    guard la.count == lb.count else { return false }
    let first = la.indices.first { la[$0] != lb[$0] } ?? la.count
    return la[first...].sorted() == lb[first...].sorted()
}

/// "== name" sections of a state dump, in order.
func sections(_ text: String) -> [(String, String)] {
    var result: [(String, String)] = []
    var title = "", body: [Substring] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("== ") {
            result.append((title, body.joined(separator: "\n")))
            title = String(line.dropFirst(3)); body = []
        } else {
            body.append(line)
        }
    }
    result.append((title, body.joined(separator: "\n")))
    return result
}
