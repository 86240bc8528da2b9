import Dispatch
import Foundation
import JWTKit

@testable import Proxy
@testable import ProxyPlugins

/// `JWTTokenStore` (ProxyPlugins/Tokens): websockify's JWTTokenApi — key files, and tokens verified
/// into a target.
///
/// The first input byte chooses:
/// - a key file (`Key.parse`): no trap; an HMAC key is at least 32 bytes;
/// - a token string verified with a fixed 32-byte HMAC key: the verdict is the same twice; a
///   token accepted names a valid target;
/// - claims built from the input and signed with that key: the verdict is exactly what the claims
///   say (host and port required and valid, `nbf` and `exp` against the clock), never a signature
///   refusal; the token with the first character of its signature changed is refused.
enum JWTTarget {
    static let target = FuzzTarget(
        name: "jwt",
        summary: "JWTTokenStore: key files, arbitrary tokens, signed claims verified to exactly what they say",
        run: { run($0) },
        // Verification runs in Swift concurrency tasks (jwt-kit's API is async): a task's context
        // is freed when the task ends, after the input has returned, and it holds the key's `Data`
        // through an enum payload whose pointer carries the case in its spare bits, where
        // LeakSanitizer does not see it. Both make leak reports that are not leaks; every other
        // target runs with leak detection.
        libFuzzerOptions: ["-detect_leaks=0"])

    static let secret = (0..<32).map { UInt8($0 * 7 + 1) }
    static let now = Date(timeIntervalSince1970: 1_700_000_000)

    static func makeStore() -> JWTTokenStore { JWTTokenStore(key: .hmac(Data(secret)), source: "fuzz", now: { now }) }

    /// Claims with each field present or not, `port` a number or a string.
    struct Claims: JWTPayload {
        var host: String?
        var port: Port?
        var nbf: Double?
        var exp: Double?

        enum Port: Encodable, Decodable {
            case number(Int)
            case text(String)
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .number(let n): try container.encode(n)
                case .text(let t): try container.encode(t)
                }
            }
            init(from decoder: any Decoder) throws { self = .text(try decoder.singleValueContainer().decode(String.self)) }
        }

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        switch input.byte() % 3 {
        case 0:
            if case .hmac(let key)? = try? JWTTokenStore.Key.parse(Data(input.rest)) {
                FuzzCheck.require(key.count >= 32, "an HMAC key of \(key.count) bytes")
            }
        case 1:
            let token = String(decoding: input.rest, as: UTF8.self)
            let store = makeStore()
            let first = blocking { await store.verify(token) }
            FuzzCheck.require(first == blocking { await store.verify(token) }, "two verdicts differ")
            if case .success(let target) = first { checkTarget(target) }
        default:
            signed(&input)
        }
    }

    static func signed(_ input: inout FuzzInput) {
        let flags = input.byte()
        func text() -> String { String(decoding: (0..<Int(input.byte() % 24)).map { _ in input.byte() }, as: UTF8.self) }
        let host = flags & 1 != 0 ? text() : nil
        let port: Claims.Port? =
            switch flags >> 1 & 3 {
            case 0: nil
            case 1: .number(Int(Int16(bitPattern: input.uint16())) * 3)
            default: .text(text())
            }
        let nbf = flags & 8 != 0 ? now.timeIntervalSince1970 + Double(Int8(bitPattern: input.byte())) : nil
        let exp = flags & 16 != 0 ? now.timeIntervalSince1970 + Double(Int8(bitPattern: input.byte())) : nil
        let claims = Claims(host: host, port: port, nbf: nbf, exp: exp)
        let store = makeStore()
        let token = blocking { () -> String? in
            guard let keys = await store.key.collection(for: "HS256") else { return nil }
            return try? await keys.sign(claims)
        }
        guard let token else {
            FuzzCheck.require(false, "cannot sign \(claims)")
            return
        }
        let verdict = blocking { await store.verify(token) }
        let portText: String? =
            switch port {
            case .number(let n): String(n)
            case .text(let t): t
            case nil: nil
            }
        let time = now.timeIntervalSince1970
        let expected: ProxyConfiguration.Target?
        if let nbf, time < nbf {
            expected = nil
        } else if let exp, time > exp {
            expected = nil
        } else if let host, let portText, case .success(let target) = TokenTarget.make(host: host, port: portText) {
            expected = target
        } else {
            expected = nil
        }
        switch verdict {
        case .success(let target):
            FuzzCheck.require(target == expected, "\(claims) verified to \(target), expected \(String(describing: expected))")
            checkTarget(target)
        case .failure(let refusal):
            FuzzCheck.require(expected == nil, "\(claims) refused: \(refusal)")
            FuzzCheck.require(!"\(refusal)".contains("signature"), "a token signed with the key refused for its signature: \(refusal)")
        }
        // The signature's first character changed: never accepted.
        guard let dot = token.lastIndex(of: "."), token.index(after: dot) < token.endIndex else { return }
        let at = token.index(after: dot)
        let changed = token[..<at] + (token[at] == "A" ? "B" : "A") + token[token.index(after: at)...]
        if case .success = blocking({ await store.verify(String(changed)) }) {
            FuzzCheck.require(false, "a token with a changed signature was accepted")
        }
    }

    static func checkTarget(_ target: ProxyConfiguration.Target) {
        switch target {
        case .hostPort(let host, let port):
            FuzzCheck.require(!host.isEmpty && (1...65535).contains(port), "target \(host):\(port)")
        case .unixSocket(let path):
            FuzzCheck.require(!path.isEmpty, "an empty socket path")
        }
    }

    /// Runs `body` to completion from libFuzzer's (non-async) thread.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}

/// The result of a task, handed to the thread that waits for it (written before the semaphore is
/// signalled, read after it is waited on).
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
