// main.swift - postconf(1), the subset the administration tools need:
// main.cf queries (-n -d -h -H -x -f, names) and edits (-e -X -#, name=value),
// master.cf queries and edits (-M -F -P, with -e -X -#). Prints and exits
// exactly as PostconfCommand says. Installed beside stock's, never over it.
import Glibc
import PostconfKit

let mailConfig = getenv("MAIL_CONFIG").map { String(cString: $0) }
let result = PostconfCommand.run(arguments: Array(CommandLine.arguments.dropFirst()), mailConfig: mailConfig,
                                 program: CommandLine.arguments.first ?? "postconf")
for line in result.out { print(line) }
fflush(stdout)
for line in result.err { fputs(line + "\n", stderr) }
exit(result.status)
