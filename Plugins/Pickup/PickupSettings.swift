// PickupSettings.swift - the main.cf parameters pickup(8) reads, checked as
// stock checks them: an unknown receive_override_options or
// smtputf8_autodetect_class name, or an unknown info_log_address_format, is
// fatal with stock's text; everything else has stock's default.
// Guarantees: `cleanupFlags(requeued:)` is the flags word stock pickup sends
// cleanup for a file of that kind.
import MailQueue
import PluginAPI

struct SettingError: Error, CustomStringConvertible {
    let description: String
}

struct PickupSettings {
    var contentFilter: String
    var queueDirectory: String
    var myhostname: String
    var mailName: String
    var lineLengthLimit: Int
    var cleanupService: String
    /// "public/<cleanup_service_name>", relative to the queue directory.
    var cleanupSocket: String
    var ipcTimeout: Double
    var daemonTimeout: Int64
    var externalAddressForm: Bool
    /// receive_override_options as CLEANUP flags to clear.
    var overrideClears: CleanupFlags
    /// smtputf8_autodetect_class names the sendmail class.
    var autodetectSMTPUTF8: Bool
    /// The start of pickup's Received: header, up to the user ID: the same
    /// for every message, so built once (myhostname and mail_name as read).
    let receivedPrefix: [UInt8]

    init(host: ServiceHost) throws {
        contentFilter = host.string("content_filter", default: "")
        queueDirectory = host.string("queue_directory", default: "/var/spool/postfix")
        myhostname = host.string("myhostname", default: PickupSettings.systemHostname())
        mailName = host.string("mail_name", default: "Postfix")
        lineLengthLimit = Int(try host.checked(.integer, "line_length_limit", default: "2048", minimum: 1))
        cleanupService = host.string("cleanup_service_name", default: "cleanup")
        cleanupSocket = "public/" + cleanupService
        ipcTimeout = Double(try host.checked(.time, "ipc_timeout", default: "3600s", minimum: 1))
        daemonTimeout = try host.checked(.time, "daemon_timeout", default: "18000s", minimum: 1)
        let form = host.string("info_log_address_format", default: "external")
        guard form == "external" || form == "internal" else {
            throw SettingError(description: "invalid info_log_address_format value: \"\(form)\"")
        }
        externalAddressForm = form == "external"
        overrideClears = try PickupSettings.overrideFlags(host.string("receive_override_options", default: ""))
        let classes = host.string("smtputf8_autodetect_class", default: "sendmail, verify")
        autodetectSMTPUTF8 = try PickupSettings.autodetectsSendmail(classes)
        receivedPrefix = Array("Received: by \(myhostname) (\(mailName), from userid ".utf8)
    }

    /// The flags for cleanup: bounce, the external set, less what
    /// receive_override_options turns off; milters off for requeued mail
    /// (postsuper -r), SMTPUTF8 autodetection for fresh submissions.
    func cleanupFlags(requeued: Bool) -> CleanupFlags {
        var flags: CleanupFlags = CleanupFlags.bounce.union(.external)
        flags.subtract(overrideClears)
        if requeued {
            flags.remove(.milter)
        } else if autodetectSMTPUTF8 {
            flags.insert(.autoUTF8)
        }
        return flags
    }

    /// Names separated by white space or commas, as name_mask() splits them.
    static func names(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" || $0 == "\r" || $0 == "\n" }).map(String.init)
    }

    static func overrideFlags(_ text: String) throws -> CleanupFlags {
        var clears: CleanupFlags = []
        for name in names(text) {
            switch name {
            case "no_unknown_recipient_checks": break     // smtpd's business, not cleanup's flags
            case "no_address_mappings": clears.formUnion([.bccOK, .mapOK])
            case "no_header_body_checks": clears.insert(.filter)
            case "no_milters": clears.insert(.milter)
            default:
                throw SettingError(description: "unknown receive_override_options value \"\(name)\" in \"\(text)\"")
            }
        }
        return clears
    }

    static func autodetectsSendmail(_ text: String) throws -> Bool {
        var found = false
        for name in names(text) {
            switch name {
            case "sendmail", "all": found = true
            case "smtpd", "qmqpd", "forward", "bounce", "notify", "verify": break
            default:
                throw SettingError(description: "unknown smtputf8_autodetect_class value \"\(name)\" in \"\(text)\"")
            }
        }
        return found
    }

    static func systemHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
