import NIOHTTP1
import Foundation
import JWTKit
import NIOCore
import Proxy

/// `JWTTokenApi`: the token is a signed JWT whose claims `host` and `port` name the target;
/// `nbf` and `exp` are honoured. Verification is jwt-kit's.
///
/// The key file (`--token-source`) is read as websockify reads it: a PEM key — RSA, or EC P-256,
/// P-384 or P-521, public or private — or else an HMAC secret written as a JWK `k` value, i.e.
/// base64url (a trailing newline is ignored) of at least 32 bytes (RFC 7518 §3.2). The key's type,
/// not the token's `alg` header, decides which algorithms are accepted (``Key/algorithms``); the
/// header only chooses among those. Encrypted tokens (JWE) are refused.
public struct JWTTokenStore: TokenStore {
    /// A verification key.
    public enum Key: Sendable {
        case hmac(Data)
        case rsa(Insecure.RSA.PublicKey)
        case ecdsaP256(ES256PublicKey)
        case ecdsaP384(ES384PublicKey)
        case ecdsaP521(ES512PublicKey)

        /// The JWS algorithms (RFC 7518 §3.1) this key verifies: those websockify 0.13 (jwcrypto)
        /// accepts with the same key file. An RSA key verifies PKCS #1 v1.5 and PSS signatures with
        /// SHA-256/384/512; an EC key the one algorithm of its curve; an HMAC secret each hash it is
        /// at least as long as (RFC 7518 §3.2: 32, 48 and 64 bytes; jwt-kit insists).
        public var algorithms: [String] {
            switch self {
            case .hmac(let secret): [(32, "HS256"), (48, "HS384"), (64, "HS512")].filter { secret.count >= $0.0 }.map(\.1)
            case .rsa: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
            case .ecdsaP256: ["ES256"]
            case .ecdsaP384: ["ES384"]
            case .ecdsaP521: ["ES512"]
            }
        }

        /// The key's type, for messages.
        public var kind: String {
            switch self {
            case .hmac(let secret): "\(secret.count)-byte HMAC secret"
            case .rsa: "RSA"
            case .ecdsaP256: "EC P-256"
            case .ecdsaP384: "EC P-384"
            case .ecdsaP521: "EC P-521"
            }
        }

        /// A key collection holding this key as `algorithm`'s only signer; nil when the key does not
        /// verify `algorithm` (``algorithms``), so a token's header can never choose another key type.
        func collection(for algorithm: String) async -> JWTKeyCollection? {
            guard algorithms.contains(algorithm) else { return nil }
            let digest: DigestAlgorithm =
                algorithm.hasSuffix("512") ? .sha512 : algorithm.hasSuffix("384") ? .sha384 : .sha256
            let keys = JWTKeyCollection()
            switch self {
            case .hmac(let secret): await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
            case .rsa(let key) where algorithm.hasPrefix("PS"): await keys.add(pss: key, digestAlgorithm: digest)
            case .rsa(let key): await keys.add(rsa: key, digestAlgorithm: digest)
            case .ecdsaP256(let key): await keys.add(ecdsa: key)
            case .ecdsaP384(let key): await keys.add(ecdsa: key)
            case .ecdsaP521(let key): await keys.add(ecdsa: key)
            }
            return keys
        }

        /// The PEM readers, public keys first.
        private static let pemReaders: [@Sendable (String) throws -> Key] = [
            { .rsa(try Insecure.RSA.PublicKey(pem: $0)) }, { .ecdsaP256(try ES256PublicKey(pem: $0)) },
            { .ecdsaP384(try ES384PublicKey(pem: $0)) }, { .ecdsaP521(try ES512PublicKey(pem: $0)) },
            { .rsa(try Insecure.RSA.PrivateKey(pem: $0).publicKey) }, { .ecdsaP256(try ES256PrivateKey(pem: $0).publicKey) },
            { .ecdsaP384(try ES384PrivateKey(pem: $0).publicKey) }, { .ecdsaP521(try ES512PrivateKey(pem: $0).publicKey) },
        ]

        /// Reads a key file's contents (see ``JWTTokenStore``).
        public static func parse(_ data: Data) throws(TokenKeyError) -> Key {
            let text = String(decoding: data, as: UTF8.self)
            if text.contains("-----BEGIN") {
                for read in pemReaders {
                    if let key = try? read(text) { return key }
                }
                throw TokenKeyError(
                    message: "a PEM file, but not an RSA (2048 bits or more) or EC P-256, P-384 or P-521 key jwt-kit can read")
            }
            let secret = text.trimmingWhitespace()
            guard !secret.isEmpty, let bytes = Base64URL.decode(secret) else {
                throw TokenKeyError(
                    message: "not a PEM key, nor an HMAC secret in base64url (a JWK 'k' value, as websockify reads it)")
            }
            // RFC 7518 §3.2: an HMAC key must be at least as long as the hash (jwt-kit asserts it).
            guard bytes.count >= 32 else {
                throw TokenKeyError(message: "the HMAC secret is \(bytes.count) bytes; RFC 7518 §3.2 requires at least 32")
            }
            return .hmac(bytes)
        }
    }

    public let key: Key
    public let source: String
    /// The current time (tests move it).
    let now: @Sendable () -> Date

    public init(key: Key, source: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.key = key
        self.source = source
        self.now = now
    }

    /// Reads the key file; a ``ProxyError`` when it can't.
    public init(keyFile: String) throws(ProxyError) {
        guard let data = FileManager.default.contents(atPath: keyFile) else {
            throw ProxyError.tokenSource(keyFile, why: "cannot read the key file")
        }
        do {
            self.init(key: try Key.parse(data), source: keyFile)
        } catch {
            throw ProxyError.tokenSource(keyFile, why: error.message)
        }
    }

    public var summary: String { "JWTTokenApi \(key.kind) key (\(key.algorithms.joined(separator: ", "))) \(source)" }

    public func target(forToken token: String, on eventLoop: any EventLoop)
        -> EventLoopFuture<ProxyConfiguration.Target>
    {
        eventLoop.makeFutureWithTask { try await self.verify(token).get() }
    }

    /// The target `token` names, or the refusal.
    public func verify(_ token: String) async -> Result<ProxyConfiguration.Target, RequestRefusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 5 { return .failure(.tokenNotAcceptable("encrypted tokens (JWE) are not supported")) }
        guard parts.count == 3 else { return .failure(.tokenNotAcceptable("not a JWT")) }
        guard let algorithm = Self.algorithm(ofHeader: parts[0]) else {
            return .failure(.tokenNotAcceptable("malformed header: no 'alg'"))
        }
        guard let keys = await key.collection(for: algorithm) else {
            return .failure(
                .tokenNotAcceptable(
                    "signed with \(LogText.quoted(algorithm)), but the \(key.kind) key verifies only \(key.algorithms.joined(separator: ", "))"))
        }
        let claims: TargetClaims
        do {
            claims = try await keys.verify(token, as: TargetClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            return .failure(.tokenNotAcceptable("bad signature (not signed with the \(key.kind) key, \(algorithm))"))
        } catch {
            return .failure(.tokenNotAcceptable("cannot be verified (\(Self.reason(error)))"))
        }
        let time = now().timeIntervalSince1970
        if let nbf = claims.nbf, time < nbf { return .failure(.tokenNotAcceptable("not valid yet (nbf)")) }
        if let exp = claims.exp, time > exp { return .failure(.tokenNotAcceptable("expired (exp)")) }
        guard let host = claims.host, let port = claims.port else {
            return .failure(.tokenNotAcceptable("the 'host' and 'port' claims are required"))
        }
        return TokenTarget.make(host: host, port: port).mapError { .tokenNotAcceptable($0.message) }
    }

    /// The `alg` of a JWS header (base64url JSON); nil when it has none or is not JSON.
    static func algorithm(ofHeader header: Substring) -> String? {
        struct Header: Decodable { var alg: String? }
        return Base64URL.decode(String(header)).flatMap { try? JSONDecoder().decode(Header.self, from: $0) }?.alg
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? JWTError { return error.reason ?? "\(error.errorType)" }
        return "\(type(of: error))"
    }
}

/// The claims websockify reads: `host`, `port` (number or string), `nbf`, `exp` (NumericDate).
struct TargetClaims: JWTPayload {
    var host: String?
    var port: String?
    var nbf: Double?
    var exp: Double?

    enum CodingKeys: String, CodingKey { case host, port, nbf, exp }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        if let number = try? c.decodeIfPresent(Int.self, forKey: .port) {
            port = String(number)
        } else {
            port = try c.decodeIfPresent(String.self, forKey: .port)
        }
        nbf = try c.decodeIfPresent(Double.self, forKey: .nbf)
        exp = try c.decodeIfPresent(Double.self, forKey: .exp)
    }

    /// Times are checked by ``JWTTokenStore/verify(_:)`` with its clock, to say which failed.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// A key file that is not a usable key.
public struct TokenKeyError: Error, Sendable {
    public var message: String
}

/// Base64url without padding (RFC 4648 §5), as in JWK `k` values; padding is tolerated.
enum Base64URL {
    static func decode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.hasSuffix("=") { base64.removeLast() }
        if base64.count % 4 == 1 { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
