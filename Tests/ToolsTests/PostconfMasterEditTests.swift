// postconf master.cf editing (-Me, -MX, -M#, -Fe, -Pe, -PX) and the -M/-F/-P
// queries, compared byte for byte with stock postconf on identical copies
// (PostconfPair): the resulting files, stdout, stderr (program name
// stripped; "unused parameter" warnings included, compared up to stock's
// hash order) and exit status. Samples: Debian's master.cf.proto, an entry
// with continuation lines and comments between them, and a file without a
// final newline.
import Foundation
import XCTest
import TestSupport

final class PostconfMasterEditTests: XCTestCase {
    static let interleaved = """
        # head
        a         unix  -       -       n       -       -       x
          -o p=1
        # inner comment

          -o q=2 extra
        b   unix - - n - - y -o z=9
        # tail comment
        c unix - - n - - zz

        """
    static let noNewline = "a unix - - n - - x -o p=1\nb unix - - n - - y"

    static let cases: [[String]] = [
        ["-Me", "a/unix = a unix - - y - - x2 -o k=v"], ["-Fe", "a/unix/command = cmd -o w=1"],
        ["-Pe", "a/unix/p = 5"], ["-Pe", "a/unix/r = 1"], ["-PX", "a/unix/p"], ["-PX", "a/unix/nosuch"],
        ["-MX", "a/unix"], ["-M#", "a/unix"], ["-Fe", "*/unix/chroot = y"], ["-Fe", "*/*/chroot = n", "a/unix/wakeup = 5"],
        ["-Me", "a/unix = a unix - - y - - x2 -o k=v x y -o c=d -oe=f z"],
        ["-Me", "a/unix = a unix - - y - - x -v -o k=v -oj=w -D -o l=m x"],
        ["-Me", "127.0.0.1:12345/inet = 127.0.0.1:12345 inet n - n - - smtpd -o a=b"],
        ["-Me", "a/unix = b unix - - y - - x"], ["-Me", "n/unix = n unix - - y - - x " + String(repeating: "w", count: 20) + " yy"],
        ["-Me", "n/unix = n unix - - y - - x " + String(repeating: "w", count: 21) + " yy"],
        ["-Me", "n/unix = n unix - - y - - x -o a=b zz " + String(repeating: "w", count: 72) + " q"],
        ["-Me", "n/unix = n unix - - y - - x -o a=b zz " + String(repeating: "w", count: 73) + " q"],
        ["-Me", "a/unix = a bogus - - y - - x"], ["-Me", "a/unix = a unix q - y - - x"],
        ["-Me", "a/unix = a unix - - y - z x"], ["-Me", "a/unix = a unix - - y 5? 7 x"], ["-Me", "a/unix = a unix - - y"],
        ["-Me", "a = a unix - - y - - x"], ["-Me", "a/unix"], ["-Me", "*/unix = a unix - - n - - y"], ["-Me"],
        ["-Fe", "a/unix/bogus = 1"], ["-Fe", "a/unix = 1"], ["-Fe", "a/unix/wakeup = 30?"], ["-Fe", "a/unix/wakeup = bogus"],
        ["-Fe", "a/unix/wakeup = -5"], ["-Fe", "a/unix/process_limit = 5?"], ["-Fe", "a/unix/type = inet"],
        ["-Fe", "a/unix/service = renamed"], ["-Fe", "a/unix/private = maybe"], ["-Fe", "zz/unix/wakeup = 1"],
        ["-FX", "a/unix/wakeup"], ["-Pe", "a/unix/p ="], ["-Pe", "a/unix/p = a b"], ["-Pe", "a/unix/p"], ["-Pe", "a/unix=1"],
        ["-Pe", "*/*/syslog_name = x"], ["-Pe", "b/unix/z = 1", "b/unix/y = 2"], ["-PX", "zz/unix/p"], ["-PX", "a/unix/p=1"],
        ["-MX", "*/unix"], ["-MX", "zz/unix"], ["-M#", "zz/unix"], ["-M#", "*/*"], ["-M#", "a"], ["-MX", "a/unix/x"],
        ["-Me", "smtp/inet = 127.0.0.1:2525 inet n - n - - smtpd", "x/unix = x unix - - n - - y"],
        ["-Pe", "smtp/inet/smtpd_foo = bar"], ["-PX", "submission/inet/smtpd_sasl_auth_enable"],
        ["-MX", "maildrop/unix", "uucp/unix"], ["-M#", "smtp/inet", "pickup/unix"],
        ["-Me", "new/unix = new unix - - n - 1 pipe flags=R user=x argv=/bin/echo ${recipient} "
                + String(repeating: "a", count: 49) + " " + String(repeating: "b", count: 32)],
        ["-M"], ["-F"], ["-P"], ["-Mf"], ["-M", "smtp"], ["-F", "*/*/command"], ["-P", "*/*/syslog_name"],
    ]

    func testMasterEditsMatchStockByteForByte() throws {
        guard try Tools.require([Tools.stockPostconf, Tools.postconf]) else { return }
        let proto = try String(contentsOfFile: "/etc/postfix/master.cf.proto", encoding: .utf8)
        var compared = 0
        for (sampleName, sample) in [("interleaved", Self.interleaved), ("proto", proto), ("no-newline", Self.noNewline)] {
            let pair = PostconfPair(files: ["master.cf": sample, "main.cf": ""])
            for (args, differences) in zip(Self.cases, try pair.differences(eachOf: Self.cases)) {
                XCTAssertEqual(differences, [], "postconf \(args) on the \(sampleName) sample:\n" + differences.joined(separator: "\n"))
                compared += 1
            }
        }
        XCTAssertEqual(compared, Self.cases.count * 3)
    }
}
