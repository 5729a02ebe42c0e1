// MaillogSettings: the checks every stock Postfix program applies to the
// maillog_* parameters when it reads main.cf, for postfix(1) and postmulti(1).
// Guarantees: maillog_file_prefixes, maillog_file_compressor and
// maillog_file_rotate_suffix must not be empty ("bad string length 0 < 1:
// NAME = "), and a non-empty maillog_file must start with one of the
// maillog_file_prefixes ("maillog_file value '<f>' does not match any prefix
// in maillog_file_prefixes"), checked in that order.

import PostfixConfig

public enum MaillogSettings {
    public static func check(_ settings: InstanceSettings) throws {
        for name in ["maillog_file_prefixes", "maillog_file_compressor", "maillog_file_rotate_suffix"] {
            if try settings.value(name).isEmpty {
                throw SettingsError(description: "bad string length 0 < 1: \(name) = ")
            }
        }
        let file = try settings.value("maillog_file")
        guard !file.isEmpty else { return }
        let prefixes = try settings.value("maillog_file_prefixes")
            .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        if !prefixes.contains(where: { file.hasPrefix($0) }) {
            throw SettingsError(description: "maillog_file value '\(file)' does not match any prefix in maillog_file_prefixes")
        }
    }
}
