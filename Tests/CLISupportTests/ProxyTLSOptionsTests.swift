import ArgumentParser
import CLISupport
import Foundation
import Proxy
import Testing

@Suite("websockify's TLS options")
struct ProxyTLSOptionsTests {
    /// The tests below assume the fallback certificate is absent from the working directory.
    func requireNoDefaultCertificate() throws {
        try #require(!FileManager.default.fileExists(atPath: ProxyTLSOptions.defaultCertificate))
    }

    @Test("no options: plain ws://, no TLS target, TLS 1.2 minimum")
    func defaults() throws {
        try requireNoDefaultCertificate()
        let options = try ProxyTLSOptions.parse([])
        #expect(options.cert == nil && options.key == nil && options.keyPassword == nil && options.cafile == nil)
        #expect(!options.sslOnly && !options.sslTarget && !options.verifyClient)
        #expect(options.sslVersion == "default" && options.sslCiphers == nil)
        #expect(try options.tlsSettings() == nil)
    }

    @Test("every option reaches the TLS settings")
    func everyOption() throws {
        let options = try ProxyTLSOptions.parse([
            "--cert", "c.pem", "--key", "k.pem", "--key-password", "secret", "--ssl-only", "--ssl-target",
            "--verify-client", "--cafile", "ca.pem", "--ssl-version", "tlsv1_3", "--ssl-ciphers", "ECDHE+AESGCM",
        ])
        #expect(options.sslTarget)
        let settings = try #require(try options.tlsSettings())
        #expect(
            settings
                == TLSServerSettings(
                    certificateFile: "c.pem", keyFile: "k.pem", keyPassword: "secret", sslOnly: true,
                    verifyClient: true, caFile: "ca.pem", minimumVersion: .tlsv1_3, ciphers: "ECDHE+AESGCM"))
    }

    @Test("each --ssl-version name maps to its minimum", arguments: TLSServerSettings.MinimumVersion.allCases)
    func versions(version: TLSServerSettings.MinimumVersion) throws {
        let options = try ProxyTLSOptions.parse(["--cert", "c.pem", "--ssl-version", version.rawValue])
        #expect(try options.tlsSettings()?.minimumVersion == version)
    }

    @Test("an unknown --ssl-version is refused, naming the ones it takes")
    func unknownVersion() throws {
        let options = try ProxyTLSOptions.parse(["--cert", "c.pem", "--ssl-version", "sslv3"])
        let error = try #require(throws: ProxyError.self) { try options.tlsSettings() }
        #expect(error.message.contains("--ssl-version sslv3") && error.message.contains("tlsv1_3"))
    }

    @Test(
        "options that need a certificate are refused without one",
        arguments: [
            (["--ssl-only"], "--ssl-only"), (["--verify-client"], "--verify-client"), (["--key", "k.pem"], "--key"),
        ])
    func needCertificate(arguments: [String], named: String) throws {
        try requireNoDefaultCertificate()
        let options = try ProxyTLSOptions.parse(arguments)
        let error = try #require(throws: ProxyError.self) { try options.tlsSettings() }
        #expect(error.message.hasPrefix(named) && error.message.contains("give --cert"))
    }

    @Test("--ssl-target alone connects to the target over TLS without serving wss://")
    func sslTargetAlone() throws {
        try requireNoDefaultCertificate()
        let options = try ProxyTLSOptions.parse(["--ssl-target"])
        #expect(options.sslTarget)
        #expect(try options.tlsSettings() == nil)
    }
}
