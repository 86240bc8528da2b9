import ArgumentParser
import Foundation
import Proxy

/// websockify's TLS options (`--cert`, `--key`, `--ssl-only`, `--verify-client`, …), as an `@OptionGroup`.
///
/// wsreplay has its own group, ``ReplayTLSOptions``: the two tools share four option names but not their
/// help, their value names or their rules (websockify falls back to `self.pem`, wsreplay has no default).
public struct ProxyTLSOptions: ParsableArguments {
    @Option(help: ArgumentHelp("SSL certificate file (PEM; may also hold the key; read again, with the key, when it changes or on SIGHUP)", valueName: "CERT"))
    public var cert: String?

    @Option(help: ArgumentHelp("SSL key file (if separate from cert)", valueName: "KEY"))
    public var key: String?

    @Option(name: .customLong("key-password"), help: ArgumentHelp("SSL key password", valueName: "KEY_PASSWORD"))
    public var keyPassword: String?

    @Flag(name: .customLong("ssl-only"), help: "disallow non-encrypted client connections")
    public var sslOnly = false

    @Flag(name: .customLong("ssl-target"), help: "connect to SSL target as SSL client")
    public var sslTarget = false

    @Flag(
        name: .customLong("verify-client"),
        help: "require encrypted clients to present a valid certificate")
    public var verifyClient = false

    @Option(
        help: ArgumentHelp(
            "file of concatenated CA certificates trusted for validating clients (with --verify-client; default: the system's)",
            valueName: "FILE"))
    public var cafile: String?

    @Option(
        name: .customLong("ssl-version"),
        help: ArgumentHelp(
            "minimum TLS version to use (default, tlsv1_1, tlsv1_2, tlsv1_3)", valueName: "SSL_VERSION"))
    public var sslVersion: String = "default"

    @Option(
        name: .customLong("ssl-ciphers"),
        help: ArgumentHelp("list of ciphers allowed for connection (OpenSSL cipher list)", valueName: "SSL_CIPHERS"))
    public var sslCiphers: String?

    public init() {}

    /// websockify's default certificate: used when present in the working directory.
    public static let defaultCertificate = "self.pem"

    /// `--ssl-version`'s value: what can be checked without looking for a certificate file.
    public func minimumVersion() throws -> TLSServerSettings.MinimumVersion {
        guard let version = TLSServerSettings.MinimumVersion(rawValue: sslVersion) else {
            throw ProxyError.invalidOption("--ssl-version \(sslVersion)", why: "takes default, tlsv1_1, tlsv1_2 or tlsv1_3")
        }
        return version
    }

    /// The TLS settings the flags describe; nil when no certificate is given or present.
    ///
    /// Not a `validate()`: websockify checks these after its address and recording options, and an
    /// option group's `validate()` would run before them.
    public func tlsSettings() throws -> TLSServerSettings? {
        let version = try minimumVersion()
        let file: String
        if let cert {
            file = cert
        } else if FileManager.default.fileExists(atPath: Self.defaultCertificate) {
            file = Self.defaultCertificate
        } else {
            if sslOnly {
                throw ProxyError.invalidOption(
                    "--ssl-only", why: "needs a certificate: give --cert (\(Self.defaultCertificate) not found)")
            }
            if verifyClient || key != nil {
                throw ProxyError.invalidOption(
                    verifyClient ? "--verify-client" : "--key", why: "needs a certificate: give --cert")
            }
            return nil
        }
        return TLSServerSettings(
            certificateFile: file, keyFile: key, keyPassword: keyPassword, sslOnly: sslOnly,
            verifyClient: verifyClient, caFile: cafile, minimumVersion: version, ciphers: sslCiphers)
    }
}
