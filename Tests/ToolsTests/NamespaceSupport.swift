// Private mount namespace support for tests that let postmulti(1) work on
// the default instance: a shell preamble that, inside `unshare -m`, puts
// overlay file systems over /etc, /var/spool and /var/lib (so instances
// created next to the default one, e.g. /etc/postfix-out, land in scratch
// space) and then binds fresh scratch directories over /etc/postfix,
// /var/spool/postfix and /var/lib/postfix, seeded with Debian's meta files.
// The machine's own directories are never written. Also: comparison of
// main.cf text up to the order of the lines appended at its end (stock
// postconf appends several new names in a randomly seeded hash order).
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

/// Equal once the one legitimate difference is normalised: stock postconf
/// appends new parameters at the end of main.cf in its randomly seeded hash
/// order, ours in request order. So the trailing run of top-level
/// "name = value" lines is compared as sorted; everything before it, and
/// every other kind of line, must be identical and in place.
func equalUpToAppendedOrder(_ a: String, _ b: String) -> Bool {
    withAppendedLinesSorted(a) == withAppendedLinesSorted(b)
}

/// `text` with its trailing run of "name = value" lines sorted.
func withAppendedLinesSorted(_ text: String) -> [Substring] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let end = lines.last == "" ? lines.count - 1 : lines.count
    var start = end
    while start > 0 && isParameterLine(lines[start - 1]) { start -= 1 }
    lines[start..<end].sort()
    return lines
}

/// A top-level main.cf assignment as postconf writes it: "name = value".
private func isParameterLine(_ line: Substring) -> Bool {
    guard let equals = line.range(of: " = ") else { return false }
    let name = line[..<equals.lowerBound]
    return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
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
