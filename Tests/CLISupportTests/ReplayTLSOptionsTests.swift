import ArgumentParser
import CLISupport
import Proxy
import Testing

@Suite("wsreplay's TLS options")
struct ReplayTLSOptionsTests {
    @Test("no options: plain ws:// only")
    func defaults() throws {
        let options = try ReplayTLSOptions.parse([])
        #expect(options.cert == nil && options.key == nil && options.keyPassword == nil && !options.sslOnly)
        #expect(try options.tlsSettings() == nil)
    }

    @Test("every option reaches the TLS settings; the rest keep their defaults")
    func everyOption() throws {
        let options = try ReplayTLSOptions.parse(["--cert", "c.pem", "--key", "k.pem", "--key-password", "pw", "--ssl-only"])
        #expect(
            try options.tlsSettings()
                == TLSServerSettings(certificateFile: "c.pem", keyFile: "k.pem", keyPassword: "pw", sslOnly: true))
    }

    @Test("--cert alone serves both ws:// and wss://")
    func certAlone() throws {
        let options = try ReplayTLSOptions.parse(["--cert", "both.pem"])
        #expect(try options.tlsSettings() == TLSServerSettings(certificateFile: "both.pem"))
    }

    @Test(
        "--key, --key-password and --ssl-only without --cert are a usage error",
        arguments: [["--key", "k.pem"], ["--key-password", "pw"], ["--ssl-only"]])
    func needCertificate(arguments: [String]) throws {
        let options = try ReplayTLSOptions.parse(arguments)
        let error = try #require(throws: ValidationError.self) { try options.tlsSettings() }
        #expect(error.message == "--key, --key-password and --ssl-only need --cert")
    }

    @Test("websockify's other TLS options are not wsreplay's")
    func noProxyOnlyOptions() {
        for option in ["--ssl-target", "--verify-client", "--ssl-version=tlsv1_2", "--cafile=ca.pem"] {
            #expect(throws: (any Error).self) { try ReplayTLSOptions.parse(["--cert", "c.pem", option]) }
        }
    }
}
