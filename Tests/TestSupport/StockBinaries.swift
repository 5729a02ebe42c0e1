// StockBinaries: the stock Postfix programs that tests compare with, verified
// against Debian's package checksums, never trusted by path alone (after an
// install the file at /usr/sbin/postconf could be anyone's).
//
// Guarantees:
// - A path handed out here has the MD5 that /var/lib/dpkg/info/postfix.md5sums
//   records for the installed `postfix` package, and so have the shared
//   libraries it loads (/usr/lib/postfix/libpostfix-*.so) and, for programs
//   that run other stock files, those files too (postfix runs postfix-script,
//   which runs $command_directory/postconf; postmulti runs postfix, postconf
//   and postmulti-script).
// - postconf and master run nothing else of the package, so when the
//   installed file is not stock, a copy extracted from the package's .deb (the
//   installed version, from /var/cache/apt/archives or `apt-get download`,
//   unpacked with dpkg-deb under /var/tmp) is used instead, after the same
//   checksum test. postfix and postmulti must be stock in place, since they
//   run the files around them.
// - Anything else is a thrown HarnessError that says what is wrong and how to
//   repair it: tests fail loudly, never compare with an unverified program.
// Results are computed once per test process.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum StockBinaries {
    public static let md5sumsPath = "/var/lib/dpkg/info/postfix.md5sums"
    public static let postconfPath = "/usr/sbin/postconf"
    public static let postfixPath = "/usr/sbin/postfix"
    public static let postmultiPath = "/usr/sbin/postmulti"
    public static let masterPath = "/usr/lib/postfix/sbin/master"

    /// Stock postconf: the installed one, or a verified copy from the package.
    public static func postconf() throws -> String { try postconfResult.get() }
    /// Stock postfix(1), verified in place with the scripts and postconf it runs.
    public static func postfix() throws -> String { try postfixResult.get() }
    /// Stock postmulti(1), verified in place with everything postfix needs.
    public static func postmulti() throws -> String { try postmultiResult.get() }
    /// The stock master(8): the installed one, or a verified copy from the package.
    public static func master() throws -> String { try masterResult.get() }

    public static let libraries = ["util", "global", "dns", "tls", "master"].map { "/usr/lib/postfix/libpostfix-\($0).so" }
    static let postfixRuns = libraries + [postconfPath, masterPath] + ["postfix-script", "post-install",
        "postfix-tls-script", "postfix-wrapper"].map { "/usr/lib/postfix/sbin/" + $0 }
    static let postmultiRuns = postfixRuns + [postfixPath, "/usr/lib/postfix/sbin/postmulti-script"]

    static let postconfResult = Result { try verifiedCopy(postconfPath, runs: libraries) }
    static let masterResult = Result { try verifiedCopy(masterPath, runs: libraries) }
    static let postfixResult = Result { try verifiedInPlace(postfixPath, runs: postfixRuns) }
    static let postmultiResult = Result { try verifiedInPlace(postmultiPath, runs: postmultiRuns) }

    // MARK: verification

    /// `path` when it and every file of `runs` are the package's own.
    /// (`installedAt`: check that file as if it were `path`; for tests of this check.)
    public static func verifiedInPlace(_ path: String, runs: [String], installedAt: String? = nil) throws -> String {
        let sums = try packageSums()
        let installed = installedAt ?? path
        if try !isPackaged(installed, sums, as: path) {
            throw HarnessError("\(installed) is not \(path) of Debian's postfix package (its MD5 differs from \(md5sumsPath)): "
                               + "comparisons need the stock program in place; restore it with apt-get install --reinstall postfix")
        }
        for file in runs where try !isPackaged(file, sums) {
            throw HarnessError("\(file) is not the file of Debian's postfix package (its MD5 differs from \(md5sumsPath)), "
                               + "and stock \(path) runs it: restore it with apt-get install --reinstall postfix")
        }
        return installed
    }

    /// `path` if it is the package's own, else the same file from the package's .deb.
    /// (`installedAt`: check that file as if it were `path`; for tests of this check.)
    public static func verifiedCopy(_ path: String, runs: [String], installedAt: String? = nil) throws -> String {
        let sums = try packageSums()
        for file in runs where try !isPackaged(file, sums) {
            throw HarnessError("\(file) is not the file of Debian's postfix package (MD5 differs from \(md5sumsPath)), "
                               + "and \(path) loads it: restore it with apt-get install --reinstall postfix")
        }
        let installed = installedAt ?? path
        if try isPackaged(installed, sums, as: path) { return installed }
        let copy = try unpackedPackage() + path
        guard try isPackaged(copy, sums, as: path) else {
            throw HarnessError("\(copy), unpacked from the postfix .deb, does not match \(md5sumsPath) either")
        }
        return copy
    }

    /// Does the file at `path` have the checksum the package records for `listed`?
    static func isPackaged(_ path: String, _ sums: [String: String], as listed: String? = nil) throws -> Bool {
        guard let expected = sums[listed ?? path] else {
            throw HarnessError("\(listed ?? path) is not listed in \(md5sumsPath): is this Debian's postfix package?")
        }
        return try md5(of: path) == expected
    }

    /// "/absolute/path" -> MD5 hex, for every file the installed package lists.
    static func packageSums() throws -> [String: String] {
        guard let text = try? String(contentsOfFile: md5sumsPath, encoding: .utf8) else {
            throw HarnessError("\(md5sumsPath) is unreadable: the Debian 'postfix' package is needed (apt-get install postfix)")
        }
        var sums: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2 else { continue }
            sums["/" + parts[1].trimmingCharacters(in: .whitespaces)] = String(parts[0])
        }
        return sums
    }

    /// MD5 of a file (md5sum(1)), nil when the file cannot be read.
    static func md5(of path: String) throws -> String? {
        guard FileManager.default.isReadableFile(atPath: path) else { return nil }
        let r = try runCommand("/usr/bin/md5sum", [path], timeout: 60)
        guard r.status == 0, let sum = r.output.split(separator: " ").first else {
            throw HarnessError("md5sum \(path) failed (\(r.status)): \(r.output)")
        }
        return String(sum)
    }

    // MARK: the package's .deb

    /// Root of the installed version's .deb, unpacked once under /var/tmp.
    static func unpackedPackage() throws -> String {
        let query = try runCommand("/usr/bin/dpkg-query", ["-W", "-f", "${Version} ${Architecture}", "postfix"])
        let fields = query.output.split(separator: " ").map(String.init)
        guard query.status == 0, fields.count == 2 else {
            throw HarnessError("dpkg-query -W postfix failed: \(query.output)")
        }
        let (version, arch) = (fields[0], fields[1])
        let root = "/var/tmp/mailhost-stock-postfix-\(version)-\(arch)"
        if FileManager.default.fileExists(atPath: root + "/usr/sbin") { return root }
        let deb = try packageFile(version: version, arch: arch)
        let staging = root + ".new.\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        let unpacked = try runCommand("/usr/bin/dpkg-deb", ["-x", deb, staging], timeout: 120)
        guard unpacked.status == 0 else { throw HarnessError("dpkg-deb -x \(deb) failed: \(unpacked.output)") }
        guard rename(staging, root) == 0 || FileManager.default.fileExists(atPath: root + "/usr/sbin") else {
            throw HarnessError("rename \(staging) \(root): \(String(cString: strerror(errno)))")
        }
        try? FileManager.default.removeItem(atPath: staging)
        return root
    }

    /// The .deb of exactly the installed version: apt's cache, else apt-get download.
    static func packageFile(version: String, arch: String) throws -> String {
        let name = "postfix_\(version.replacingOccurrences(of: ":", with: "%3a"))_\(arch).deb"
        let cached = "/var/cache/apt/archives/" + name
        if FileManager.default.fileExists(atPath: cached) { return cached }
        let dir = "/var/tmp/mailhost-stock-deb"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: dir + "/" + name) { return dir + "/" + name }
        let script = "cd '\(dir)' && apt-get download 'postfix=\(version)'"
        let r = try runCommand("/bin/sh", ["-c", script], timeout: 300)
        guard r.status == 0, FileManager.default.fileExists(atPath: dir + "/" + name) else {
            throw HarnessError("no verified stock postfix available: the installed files are not stock, and "
                               + "apt-get download postfix=\(version) failed (\(r.status)): \(r.output)")
        }
        return dir + "/" + name
    }
}
