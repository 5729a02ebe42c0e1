// Echo.swift - the example Swift plugin: a single-model service that greets
// the client with $echo_greeting and echoes every line back until the client
// closes, logging each connection through the host.
//
// Its master.cf line, with libecho.so installed as $plugin_directory/echo.so:
//     127.0.0.1:10026 inet n - n - - echo -o echo_greeting=hi
import PluginAPI

final class EchoService: SingleServer {
    static let name = "echo"
    static let version = "1.0"

    private let greeting: String
    /// Lines per connection; bounds the work one client can ask for.
    private let maxLines: Int64

    init(host: ServiceHost) throws {
        greeting = host.string("echo_greeting", default: "hello from echo")
        maxLines = host.int("echo_max_lines", default: 10000)
        host.info("echo ready on service \(host.serviceName) (\(host.serviceType))")
    }

    func serve(client: Client, host: ServiceHost) throws {
        try client.write(greeting + "\r\n")
        var reader = LineReader()
        var echoed: Int64 = 0
        while echoed < maxLines {
            let bytes = try client.read()
            if bytes.isEmpty { break }
            for line in reader.feed(bytes) {
                try client.write(line + [10])
                echoed += 1
            }
        }
        host.info("echo: connection closed after \(echoed) lines")
    }
}
