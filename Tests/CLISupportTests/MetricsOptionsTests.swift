import ArgumentParser
import CLISupport
import Testing

@Suite("--metrics-listen")
struct MetricsOptionsTests {
    private func address(_ arguments: [String]) throws -> (host: String, port: Int)? {
        try MetricsOptions.parse(arguments).address()
    }

    @Test("off unless given; a port alone, or an empty host, listens on loopback")
    func loopbackByDefault() throws {
        #expect(try address([]) == nil)
        #expect(try address(["--metrics-listen", "9100"]).map { "\($0.host) \($0.port)" } == "127.0.0.1 9100")
        #expect(try address(["--metrics-listen=:9100"]).map { "\($0.host) \($0.port)" } == "127.0.0.1 9100")
    }

    @Test("a named host, IPv6 in brackets")
    func namedHosts() throws {
        #expect(try address(["--metrics-listen=0.0.0.0:9100"]).map { "\($0.host) \($0.port)" } == "0.0.0.0 9100")
        #expect(try address(["--metrics-listen=[::]:9100"]).map { "\($0.host) \($0.port)" } == ":: 9100")
        #expect(try address(["--metrics-listen=10.0.0.11:0"]).map { "\($0.host) \($0.port)" } == "10.0.0.11 0")
    }

    @Test("a malformed value is refused when the options are parsed, naming the option and why")
    func malformed() throws {
        for (value, why) in [
            ("localhost:http", "port is not a number"), ("70000", "port out of range 0-65535"),
            ("::1:9100", "put IPv6 addresses in brackets"), ("host", "expected host:port"),
        ] {
            #expect {
                _ = try MetricsOptions.parse(["--metrics-listen", value])
            } throws: { error in
                MetricsOptions.message(for: error).contains("--metrics-listen \(value): \(why)")
            }
        }
    }
}
