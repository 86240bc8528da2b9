import Foundation
import JWTKit
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TestSupport

@testable import Proxy
@testable import ProxyPlugins

/// The refusal a failed lookup carries (or nil when the lookup succeeded).
func refusal(_ future: EventLoopFuture<ProxyConfiguration.Target>) async -> RequestRefusal? {
    do {
        _ = try await future.get()
        return nil
    } catch {
        return error as? RequestRefusal
    }
}

@Suite("Token stores")
struct TokenStoreTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let logger = Logger(label: "test")

    @Test("TokenFile re-reads an edited file, a replaced file and a directory whose files change")
    func reload() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.conf")
        try "one: h:1\n".write(to: file, atomically: false, encoding: .utf8)
        let store = try TokenFileStore(source: file.path, readOnly: false, logger: logger)
        #expect(try await store.target(forToken: "one", on: loop).get() == .hostPort(host: "h", port: 1))
        // Same size, same second: the nanosecond mtime and ctime still tell.
        try "one: h:2\n".write(to: file, atomically: false, encoding: .utf8)
        #expect(try await store.target(forToken: "one", on: loop).get() == .hostPort(host: "h", port: 2))
        try "two: h:3\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(await refusal(store.target(forToken: "one", on: loop))?.status == .notFound)
        #expect(try await store.target(forToken: "two", on: loop).get() == .hostPort(host: "h", port: 3))

        let directory = try TokenFileStore(source: dir.path, readOnly: false, logger: logger)
        #expect(await refusal(directory.target(forToken: "three", on: loop))?.status == .notFound)
        try "three: h:4\n".write(to: dir.appendingPathComponent("b.conf"), atomically: false, encoding: .utf8)
        try "hidden: h:5\n".write(to: dir.appendingPathComponent(".b.conf.swp"), atomically: false, encoding: .utf8)
        #expect(try await directory.target(forToken: "three", on: loop).get() == .hostPort(host: "h", port: 4))
        #expect(await refusal(directory.target(forToken: "hidden", on: loop))?.status == .notFound)
        try "three: h:6\n".write(to: dir.appendingPathComponent("b.conf"), atomically: false, encoding: .utf8)
        #expect(try await directory.target(forToken: "three", on: loop).get() == .hostPort(host: "h", port: 6))

        // Gone: a 503 naming the problem, not a crash, and back once it is there again.
        try FileManager.default.removeItem(at: file)
        let gone = try #require(await refusal(store.target(forToken: "two", on: loop)))
        #expect(gone.status == .serviceUnavailable && gone.logMessage.contains("a.conf"))
        try "two: h:7\n".write(to: file, atomically: false, encoding: .utf8)
        #expect(try await store.target(forToken: "two", on: loop).get() == .hostPort(host: "h", port: 7))
    }

    @Test("ReadOnlyTokenFile reads once")
    func readOnly() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("t")
        try "one: h:1\n".write(to: file, atomically: false, encoding: .utf8)
        let store = try TokenFileStore(source: file.path, readOnly: true, logger: logger)
        try "one: h:2\n".write(to: file, atomically: false, encoding: .utf8)
        #expect(try await store.target(forToken: "one", on: loop).get() == .hostPort(host: "h", port: 1))
        #expect(throws: ProxyError.self) {
            try TokenFileStore(source: dir.appendingPathComponent("missing").path, readOnly: true, logger: logger)
        }
    }

    /// Figures, not a pass/fail threshold: what a lookup costs with 10,000 tokens (see docs/proxy.md).
    @Test("10,000 tokens: a parse, and a lookup with the unchanged-file check")
    func tenThousand() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("t")
        let text = (0..<10_000).map { "token\($0): 10.0.\($0 / 256 % 256).\($0 % 256):\(5900 + $0 % 100)" }.joined(separator: "\n")
        try text.write(to: file, atomically: false, encoding: .utf8)
        let clock = ContinuousClock()
        var store: TokenFileStore?
        let parse = try clock.measure { store = try TokenFileStore(source: file.path, readOnly: false, logger: logger) }
        let loaded = try #require(store)
        #expect(loaded.count == 10_000)
        let lookups = 1000
        let check = try clock.measure { for _ in 0..<lookups { _ = try loaded.refreshed() } }
        let started = clock.now
        for n in 0..<lookups {
            #expect(try await loaded.target(forToken: "token\(n * 7)", on: loop).get() != .unixSocket(path: ""))
        }
        let full = clock.now - started
        print("10,000 tokens: parse \(parse); unchanged check \(check / lookups); lookup via thread pool \(full / lookups)")
    }

    @Test("plugin names, sources and --host-token")
    func plugins() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("t")
        try "vnc.example.com: h:1\n".write(to: file, atomically: false, encoding: .utf8)
        let resolver = try TokenPlugins.make(
            plugin: "websockify.token_plugins.TokenFile", source: file.path, hostToken: true, logger: logger)
        let head = HTTPRequestHead(
            version: .http1_1, method: .GET, uri: "/?token=ignored", headers: ["Host": "vnc.example.com:6080"])
        let request = ConnectionRequest(head: head, clientAddress: "c")
        #expect(try await resolver.resolveTarget(for: request, on: loop).get() == .hostPort(host: "h", port: 1))
        let noHost = ConnectionRequest(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/"), clientAddress: "c")
        #expect(await refusal(resolver.resolveTarget(for: noHost, on: loop))?.status == .badRequest)
        for (plugin, source) in [
            ("TokenFile", nil), ("NoSuchPlugin", file.path), ("TokenFileName", file.path), ("TokenRedis", "h:x"),
            ("JWTTokenApi", dir.appendingPathComponent("nokey").path), ("ReadOnlyTokenFile", "/nonexistent/x"),
        ] as [(String, String?)] {
            #expect(throws: ProxyError.self, "\(plugin)") {
                try TokenPlugins.make(plugin: plugin, source: source, hostToken: false, logger: logger)
            }
        }
    }

    @Test("relative file sources are made absolute against the working directory (-D moves to /); a Redis address is not")
    func relativeSources() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("tokens.d"), withIntermediateDirectories: true)
        try "a: h:1\n".write(to: dir.appendingPathComponent("tokens"), atomically: false, encoding: .utf8)
        try "b: h:2\n".write(to: dir.appendingPathComponent("tokens.d/x"), atomically: false, encoding: .utf8)
        try "YSBzaGFyZWQgc2VjcmV0LCAzMiBieXRlcyBsb25nISE\n".write(
            to: dir.appendingPathComponent("key"), atomically: false, encoding: .utf8)
        func store(_ plugin: String, _ source: String) throws -> any TokenStore {
            try TokenPlugins.make(plugin: plugin, source: source, hostToken: false, logger: logger, workingDirectory: dir.path)
                .store
        }
        let file = try #require(try store("TokenFile", "tokens") as? TokenFileStore)
        #expect(file.source == dir.path + "/tokens")
        #expect(try await file.target(forToken: "a", on: loop).get() == .hostPort(host: "h", port: 1))
        let directory = try #require(try store("ReadOnlyTokenFile", "./sub/../tokens.d") as? TokenFileStore)
        #expect(directory.source == dir.path + "/tokens.d")
        let jwt = try #require(try store("JWTTokenApi", "key") as? JWTTokenStore)
        #expect(jwt.source == dir.path + "/key")
        let absolute = try #require(try store("TokenFile", dir.path + "/tokens") as? TokenFileStore)
        #expect(absolute.source == dir.path + "/tokens")
        let redis = try #require(try store("TokenRedis", "localhost:6390") as? RedisTokenStore)
        #expect(redis.source.host == "localhost" && redis.source.port == 6390)
    }

    @Test("TokenRedis with Redis down: a 503 per lookup naming the Redis address")
    func redisDown() async throws {
        // A port that was free a moment ago: nothing listens there.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()
        let store = RedisTokenStore(source: .init(host: "127.0.0.1", port: port, password: "pw"))
        for _ in 0..<2 {
            let refused = try #require(await refusal(store.target(forToken: "t", on: loop)))
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.logMessage.contains("Redis at 127.0.0.1:\(port)") && !refused.logMessage.contains("pw"))
        }
    }

    @Test(
        "TokenRedis that accepts and never answers: a 503 once the answer timeout has passed, not before",
        .timeLimit(.minutes(1)))
    func redisSilent() async throws {
        // Takes connections and reads nothing, writes nothing: a hung Redis.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        var store = RedisTokenStore(source: .init(host: "127.0.0.1", port: port))
        store.answerTimeout = .milliseconds(300)
        let started = ContinuousClock.now
        let refused = try #require(await refusal(store.target(forToken: "t", on: loop)))
        let waited = ContinuousClock.now - started
        try await silent.close()
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.logMessage.contains("no answer within 300 ms"), "\(refused)")
        #expect(waited >= .milliseconds(300) && waited < .seconds(2), "\(waited)")
    }
}

@Suite("JWTTokenApi")
struct JWTTokenStoreTests {
    struct Claims: JWTPayload {
        var host: String?
        var port: Int?
        var portText: String?
        var nbf: Double?
        var exp: Double?
        enum CodingKeys: String, CodingKey { case host, port, portText = "port_text", nbf, exp }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(host, forKey: .host)
            if let portText { try c.encode(portText, forKey: .port) } else { try c.encodeIfPresent(port, forKey: .port) }
            try c.encodeIfPresent(nbf, forKey: .nbf)
            try c.encodeIfPresent(exp, forKey: .exp)
        }
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A PEM key pair made by the system openssl now: (private, public).
    static func openssl(_ algorithm: [String]) throws -> (String, String) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("key.pem").path
        let pub = dir.appendingPathComponent("pub.pem").path
        for arguments in [["genpkey"] + algorithm + ["-out", key], ["pkey", "-in", key, "-pubout", "-out", pub]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "openssl \(arguments)")
        }
        return (try String(contentsOfFile: key, encoding: .utf8), try String(contentsOfFile: pub, encoding: .utf8))
    }

    func store(_ keyFile: String) throws -> JWTTokenStore {
        JWTTokenStore(key: try JWTTokenStore.Key.parse(Data(keyFile.utf8)), source: "k", now: { Self.now })
    }

    func check(_ store: JWTTokenStore, sign: (Claims) async throws -> String, wrongKey: (Claims) async throws -> String)
        async throws
    {
        let t = Self.now.timeIntervalSince1970
        #expect(try await store.verify(sign(Claims(host: "10.1.1.1", port: 5901))).get() == .hostPort(host: "10.1.1.1", port: 5901))
        #expect(try await store.verify(sign(Claims(host: "h", portText: "5902", nbf: t - 10, exp: t + 10))).get() == .hostPort(host: "h", port: 5902))
        #expect(try await store.verify(sign(Claims(host: "unix_socket", portText: "/run/s"))).get() == .unixSocket(path: "/run/s"))
        let cases: [(Claims, String)] = [
            (Claims(host: "h", port: 1, exp: t - 1), "expired"), (Claims(host: "h", port: 1, nbf: t + 60), "not valid yet"),
            (Claims(host: "h"), "'host' and 'port'"), (Claims(port: 1), "'host' and 'port'"),
            (Claims(host: "h", portText: "x"), "port"),
        ]
        for (claims, why) in cases {
            let refused = await store.verify(try await sign(claims))
            #expect(refused.failure?.status == .forbidden && refused.failure?.message.contains(why) == true, "\(why): \(refused)")
        }
        let forged = await store.verify(try await wrongKey(Claims(host: "h", port: 1)))
        #expect(forged.failure?.status == .forbidden && forged.failure?.message.contains("bad signature") == true, "\(forged)")
        var tampered = try await sign(Claims(host: "h", port: 1)).split(separator: ".").map(String.init)
        try #require(tampered.count == 3, "a JWT has three parts: \(tampered)")
        tampered[1] = Data(#"{"host":"evil","port":22}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        #expect(await store.verify(tampered.joined(separator: ".")).failure?.status == .forbidden)
        #expect(await store.verify("not-a-jwt").failure?.status == .forbidden)
        #expect(await store.verify("a.b.c.d.e").failure?.message.contains("JWE") == true)
    }

    static func digest(_ algorithm: String) -> DigestAlgorithm {
        algorithm.hasSuffix("512") ? .sha512 : algorithm.hasSuffix("384") ? .sha384 : .sha256
    }

    static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    @Test("HMAC: the key file is a base64url secret (a JWK 'k', as websockify reads it)", arguments: ["HS256", "HS384", "HS512"])
    func hmac(algorithm: String) async throws {
        let secret = Data("a shared secret of 64 bytes, enough for HS256, HS384 and HS512!!".utf8)
        let store = try store(Self.base64url(secret) + "\n")
        #expect(store.key.algorithms == ["HS256", "HS384", "HS512"])
        try await check(
            store,
            sign: { claims in
                try await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: Self.digest(algorithm)).sign(claims)
            },
            wrongKey: { claims in
                try await JWTKeyCollection().add(
                    hmac: HMACKey(from: Data(secret.reversed())), digestAlgorithm: Self.digest(algorithm)
                ).sign(claims)
            })
        #expect(throws: TokenKeyError.self) { try JWTTokenStore.Key.parse(Data("not base64url!".utf8)) }
        #expect(throws: TokenKeyError.self) { try JWTTokenStore.Key.parse(Data("c2hvcnQ".utf8)) }
    }

    @Test("an HMAC secret verifies only the hashes it is as long as (RFC 7518 §3.2)")
    func shortHMACSecret() async throws {
        let secret = Data("a shared secret, 32 bytes long!!".utf8)
        let store = try store(Self.base64url(secret))
        #expect(store.key.algorithms == ["HS256"])
        let longer = Data(repeating: 7, count: 64)
        let token = try await JWTKeyCollection().add(hmac: HMACKey(from: longer), digestAlgorithm: .sha512)
            .sign(Claims(host: "h", port: 1))
        let refused = await store.verify(token)
        #expect(refused.failure?.status == .forbidden && refused.failure?.message.contains("verifies only HS256") == true, "\(refused)")
    }

    @Test("RSA public key PEM: RS256/384/512 and PS256/384/512", arguments: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
    func rsa(algorithm: String) async throws {
        let (privatePEM, publicPEM) = try Self.openssl(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let (otherPEM, _) = try Self.openssl(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let store = try store(publicPEM)
        #expect(store.key.algorithms == ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
        func sign(_ claims: Claims, _ pem: String) async throws -> String {
            let key = try Insecure.RSA.PrivateKey(pem: pem)
            let keys = JWTKeyCollection()
            if algorithm.hasPrefix("PS") {
                await keys.add(pss: key, digestAlgorithm: Self.digest(algorithm))
            } else {
                await keys.add(rsa: key, digestAlgorithm: Self.digest(algorithm))
            }
            return try await keys.sign(claims)
        }
        try await check(store, sign: { try await sign($0, privatePEM) }, wrongKey: { try await sign($0, otherPEM) })
    }

    @Test(
        "EC key PEM: the curve decides the algorithm (P-256 ES256, P-384 ES384, P-521 ES512)",
        arguments: [("P-256", "ES256"), ("P-384", "ES384"), ("P-521", "ES512")])
    func ecdsa(curve: String, algorithm: String) async throws {
        let (privatePEM, publicPEM) = try Self.openssl(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)"])
        let (otherPEM, _) = try Self.openssl(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)"])
        let store = try store(publicPEM)
        #expect(store.key.algorithms == [algorithm])
        func sign(_ claims: Claims, _ pem: String) async throws -> String {
            let keys = JWTKeyCollection()
            switch curve {
            case "P-256": await keys.add(ecdsa: try ES256PrivateKey(pem: pem))
            case "P-384": await keys.add(ecdsa: try ES384PrivateKey(pem: pem))
            default: await keys.add(ecdsa: try ES512PrivateKey(pem: pem))
            }
            return try await keys.sign(claims)
        }
        try await check(store, sign: { try await sign($0, privatePEM) }, wrongKey: { try await sign($0, otherPEM) })
    }

    @Test("the key's type decides: HS256 signed with the public key's text, 'none', another curve are refused")
    func algorithmConfusion() async throws {
        let (_, ecPEM) = try Self.openssl(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let (_, rsaPEM) = try Self.openssl(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        let claims = Claims(host: "h", port: 1)
        for (pem, only) in [(ecPEM, "verifies only ES256"), (rsaPEM, "verifies only RS256, RS384")] {
            let store = try store(pem)
            // The public key's text used as an HMAC secret.
            let confused = try await JWTKeyCollection().add(hmac: HMACKey(from: pem), digestAlgorithm: .sha256).sign(claims)
            let refused = await store.verify(confused)
            #expect(refused.failure?.status == .forbidden && refused.failure?.message.contains(only) == true, "\(refused)")
            let unsigned =
                Self.base64url(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "."
                + Self.base64url(Data(#"{"host":"h","port":1}"#.utf8)) + "."
            #expect(await store.verify(unsigned).failure?.message.contains("signed with 'none'") == true)
        }
        let p384 = try await JWTKeyCollection().add(ecdsa: ES384PrivateKey()).sign(claims)
        let ecStore = try store(ecPEM)
        #expect(await ecStore.verify(p384).failure?.message.contains("signed with 'ES384'") == true)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
