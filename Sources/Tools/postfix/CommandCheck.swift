// CommandCheck: what each master.cf command runs, as our master resolves it,
// for `postfix check` (beyond stock).
// Guarantees: the very rule and file check the master and its workers use
// (PluginLoading's ServiceProgram and PluginFileCheck), so `postfix check`
// warns about exactly the plugins the master would refuse, with the
// master's own words: a libtool archive is read and the library it names
// checked, symlinks are checked where they lead, and every file and its
// directory must be root-owned and not group or world writable. A missing
// executable is a problem too.

import Glibc
import PluginLoading

struct CommandCheck {
    let program: ServiceProgram

    init(command: String, pluginDirectory: String, daemonDirectory: String) {
        program = ServiceProgram.resolve(command: command, pluginDirectory: pluginDirectory,
                                         daemonDirectory: daemonDirectory)
    }

    var kind: String { program.isPlugin ? "plugin" : "executable" }

    /// What is wrong with the file the command resolves to (empty: nothing).
    func problems() -> [String] {
        switch program {
        case .executable(let path):
            return access(path, X_OK) == 0 ? [] : ["no such executable: \(path)"]
        case .plugin(let path):
            switch PluginFileCheck.open(path) {
            case .checked(let file):
                file.close()
                return []
            case .refused(let reasons):
                return reasons.map { PluginMessages.refused(path, $0) }
            }
        }
    }
}
