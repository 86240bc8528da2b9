import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// TLS towards clients (`--cert`, `--key`, `--key-password`, `--ssl-only`, `--verify-client`,
/// `--cafile`, `--ssl-version`, `--ssl-ciphers`), as given; ``load()`` reads the files.
public struct TLSServerSettings: Sendable, Equatable {
    /// The minimum protocol version (`--ssl-version`).
    public enum MinimumVersion: String, Sendable, CaseIterable {
        /// websockify's `default`: TLS 1.2, what Python's default server context allows.
        case `default`
        case tlsv1_1
        case tlsv1_2
        case tlsv1_3

        var nio: TLSVersion {
            switch self {
            case .default, .tlsv1_2: .tlsv12
            case .tlsv1_1: .tlsv11
            case .tlsv1_3: .tlsv13
            }
        }
    }

    /// PEM file with the certificate chain, and the key unless ``keyFile`` is given.
    public var certificateFile: String
    /// PEM file with the private key, when not in ``certificateFile``.
    public var keyFile: String?
    /// Passphrase of an encrypted key.
    public var keyPassword: String?
    /// Refuse connections that don't start with a TLS hello.
    public var sslOnly: Bool
    /// Require a client certificate signed by ``caFile`` (or the system's CAs).
    public var verifyClient: Bool
    /// CA certificates (PEM) trusted for client certificates; nil uses the system's.
    public var caFile: String?
    public var minimumVersion: MinimumVersion
    /// An OpenSSL cipher list for TLS 1.2 and below (TLS 1.3 suites are fixed); nil keeps the defaults.
    public var ciphers: String?

    public init(
        certificateFile: String, keyFile: String? = nil, keyPassword: String? = nil, sslOnly: Bool = false,
        verifyClient: Bool = false, caFile: String? = nil, minimumVersion: MinimumVersion = .default,
        ciphers: String? = nil
    ) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.keyPassword = keyPassword
        self.sslOnly = sslOnly
        self.verifyClient = verifyClient
        self.caFile = caFile
        self.minimumVersion = minimumVersion
        self.ciphers = ciphers
    }

    /// Reads the certificate, key and CA files and builds the TLS context; every failure names the
    /// file and says what is wrong with it. The server then follows the files (``TLSServer``).
    public func load() throws(ProxyError) -> TLSServer {
        // Stamps first: a file that changes while it is read is read again at the next check.
        let stamps = TLSServer.stamps(of: followedFiles)
        let loaded = try makeContext()
        return TLSServer(settings: self, loaded: loaded, stamps: stamps)
    }

    /// The files a reload reads: the certificate, the key when separate, and the CA file when it is used.
    var followedFiles: [String] {
        [certificateFile] + (keyFile.map { [$0] } ?? []) + (verifyClient ? (caFile.map { [$0] } ?? []) : [])
    }

    /// Reads the files and builds a context for new connections, with the certificate it serves.
    func makeContext() throws(ProxyError) -> (context: NIOSSLContext, leaf: NIOSSLCertificate) {
        try Self.checkReadable(certificateFile, what: "certificate")
        let keyPath = keyFile ?? certificateFile
        if let keyFile { try Self.checkReadable(keyFile, what: "key") }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw ProxyError.tls(file: certificateFile, "is not a PEM certificate file (\(error))")
        }
        guard !certificates.isEmpty else {
            throw ProxyError.tls(file: certificateFile, "holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            if let keyPassword {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem) { (setter: ([UInt8]) -> Void) in
                    setter(Array(keyPassword.utf8))
                }
            } else {
                key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            }
        } catch {
            let hint =
                keyFile == nil
                ? "holds no usable private key; give it with --key, or append the key to the certificate file"
                : "holds no usable private key (wrong --key-password, or not a PEM key)"
            throw ProxyError.tls(file: keyPath, "\(hint) (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = minimumVersion.nio
        if let ciphers { configuration.cipherSuites = ciphers }
        if verifyClient {
            configuration.certificateVerification = .noHostnameVerification
            if let caFile {
                try Self.checkReadable(caFile, what: "CA")
                configuration.trustRoots = .file(caFile)
            } else {
                configuration.trustRoots = .default
            }
            configuration.sendCANameList = true
        }
        do {
            return (try NIOSSLContext(configuration: configuration), certificates[0])
        } catch {
            // BoringSSL checks the key against the certificate here.
            throw ProxyError.tls(
                file: keyPath,
                "cannot be used with the certificate in \(certificateFile) (does the key belong to it?): \(error)")
        }
    }

    static func checkReadable(_ path: String, what: String) throws(ProxyError) {
        guard access(path, R_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ProxyError.tls(file: path, "cannot read the \(what) file: \(reason)")
        }
    }
}

/// TLS towards targets (`--ssl-target`): verified against the system's CAs (or the PEM file named by
/// `SSL_CERT_FILE`, as OpenSSL does), with SNI and host name checks.
public struct TLSClient: Sendable {
    let context: NIOSSLContext

    /// - Parameter trustFile: CA certificates to trust instead of the system's.
    public init(trustFile: String? = nil) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustFile {
            try TLSServerSettings.checkReadable(trustFile, what: "CA")
            configuration.trustRoots = .file(trustFile)
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ProxyError.tls(file: trustFile ?? "(system CAs)", "cannot be used for TLS: \(error)")
        }
    }
}

/// The TLS handler for a target connection (`--ssl-target`).
enum TargetTLS {
    static func handler(for target: ProxyConfiguration.Target, client: TLSClient) throws -> NIOSSLClientHandler {
        switch target {
        case .hostPort(let host, _):
            // SNI and the name check take host names; an IP literal is checked against the
            // certificate's chain only.
            let isLiteral = host.contains(":") || host.split(separator: ".").allSatisfy { UInt8($0) != nil }
            return try NIOSSLClientHandler(context: client.context, serverHostname: isLiteral ? nil : host)
        case .unixSocket(let path):
            throw ProxyError.tls(file: path, "--ssl-target applies to host:port targets, not unix sockets")
        }
    }
}
