// SystemError: errno as text for error values (strerror), and retrying of
// system calls interrupted by signals.
#if canImport(Glibc)
import Glibc
#endif

public enum SystemError {
    public static func text(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "errno \(code)" }
        return String(cString: s)
    }

    /// Runs `call` again while it fails with EINTR.
    public static func retrying<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let r = call()
            if r < 0 && errno == EINTR { continue }
            return r
        }
    }
}
