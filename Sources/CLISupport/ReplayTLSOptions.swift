import ArgumentParser
import Proxy

/// wsreplay's TLS options (`--cert`, `--key`, `--key-password`, `--ssl-only`), as an `@OptionGroup`.
///
/// Not websockify's ``ProxyTLSOptions``: replay has no default certificate, no client verification and
/// no TLS target, and its help speaks of serving wss:// beside ws://.
public struct ReplayTLSOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also serve wss:// on the port, with this PEM certificate (may hold the key; read again when it changes, or on SIGHUP).", valueName: "FILE"))
    public var cert: String?

    @Option(help: ArgumentHelp("The certificate's PEM private key, if not in --cert.", valueName: "FILE"))
    public var key: String?

    @Option(name: .customLong("key-password"), help: ArgumentHelp("Passphrase of an encrypted key.", valueName: "PASSWORD"))
    public var keyPassword: String?

    @Flag(name: .customLong("ssl-only"), help: "Refuse plain ws:// connections (needs --cert).")
    public var sslOnly = false

    public init() {}

    /// The TLS settings the flags describe; nil without --cert.
    ///
    /// Not a `validate()`: wsreplay checks these after its pacing and rule options, and an option
    /// group's `validate()` would run before them.
    public func tlsSettings() throws(ValidationError) -> TLSServerSettings? {
        guard let cert else {
            if key != nil || keyPassword != nil || sslOnly {
                throw ValidationError("--key, --key-password and --ssl-only need --cert")
            }
            return nil
        }
        return TLSServerSettings(certificateFile: cert, keyFile: key, keyPassword: keyPassword, sslOnly: sslOnly)
    }
}
