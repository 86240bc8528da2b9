import NIOHTTP1
import Foundation
import JWTKit
import NIOCore

/// `JWTTokenApi`: the token is a signed JWT whose claims `host` and `port` name the target;
/// `nbf` and `exp` are honoured. Verification is jwt-kit's.
///
/// The key file (`--token-source`) is read as websockify reads it: a PEM key — RSA (RS256) or EC
/// P-256 (ES256), public or private — or else an HS256 secret written as a JWK `k` value, i.e.
/// base64url (a trailing newline is ignored) of at least 32 bytes (RFC 7518 §3.2). The key, not the token's `alg` header, decides
/// the algorithm. Encrypted tokens (JWE) are refused.
public struct JWTTokenStore: TokenStore {
    /// A verification key.
    public enum Key: Sendable {
        case hmac(Data)
        case rsa(Insecure.RSA.PublicKey)
        case ecdsa(ES256PublicKey)

        /// The JWS algorithm this key verifies.
        public var algorithm: String {
            switch self {
            case .hmac: "HS256"
            case .rsa: "RS256"
            case .ecdsa: "ES256"
            }
        }

        /// Reads a key file's contents (see ``JWTTokenStore``).
        public static func parse(_ data: Data) throws(TokenKeyError) -> Key {
            let text = String(decoding: data, as: UTF8.self)
            if text.contains("-----BEGIN") {
                if let key = try? Insecure.RSA.PublicKey(pem: text) { return .rsa(key) }
                if let key = try? ES256PublicKey(pem: text) { return .ecdsa(key) }
                if let key = try? Insecure.RSA.PrivateKey(pem: text) { return .rsa(key.publicKey) }
                if let key = try? ES256PrivateKey(pem: text) { return .ecdsa(key.publicKey) }
                throw TokenKeyError(
                    message: "a PEM file, but not an RSA (2048 bits or more) or EC P-256 key jwt-kit can read")
            }
            let secret = text.trimmingWhitespace()
            guard !secret.isEmpty, let bytes = Base64URL.decode(secret) else {
                throw TokenKeyError(
                    message: "not a PEM key, nor an HS256 secret in base64url (a JWK 'k' value, as websockify reads it)")
            }
            // RFC 7518 §3.2: an HS256 key must be at least as long as the hash (jwt-kit asserts it).
            guard bytes.count >= 32 else {
                throw TokenKeyError(message: "the HS256 secret is \(bytes.count) bytes; RFC 7518 §3.2 requires at least 32")
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

    public var summary: String { "JWTTokenApi \(key.algorithm) key \(source)" }

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
        let keys = JWTKeyCollection()
        switch key {
        case .hmac(let secret): await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        case .rsa(let publicKey): await keys.add(rsa: publicKey, digestAlgorithm: .sha256)
        case .ecdsa(let publicKey): await keys.add(ecdsa: publicKey)
        }
        let claims: TargetClaims
        do {
            claims = try await keys.verify(token, as: TargetClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            return .failure(.tokenNotAcceptable("bad signature (not signed with the \(key.algorithm) key)"))
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
