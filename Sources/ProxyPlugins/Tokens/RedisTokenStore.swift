import NIOHTTP1
import Foundation
import NIOCore
import NIOPosix
import Proxy

/// `TokenRedis`: the target of a token is the value under `namespace:token` (or `token`) in
/// Redis: JSON `{"host": "h", "port": "p"}`, JSON `{"host": "h:p"}` (websockify's form), or
/// plain `h:p` (`unix_socket:/path` works in each).
///
/// One connection per lookup (AUTH, SELECT and GET pipelined in one write), with a connect and
/// an answer timeout; when Redis is down or refuses, the request gets a 503 and a log line, and
/// the proxy carries on.
public struct RedisTokenStore: TokenStore {
    /// `--token-source host[:port[:db[:password[:namespace]]]]`; a field may be in double quotes to
    /// hold colons (`h::::"a:b"`); empty fields take their defaults (6379, 0, none, none).
    public struct Source: Equatable, Sendable {
        public var host: String
        public var port: Int = 6379
        public var db: Int = 0
        public var password: String?
        public var namespace: String?

        public init(host: String, port: Int = 6379, db: Int = 0, password: String? = nil, namespace: String? = nil) {
            self.host = host
            self.port = port
            self.db = db
            self.password = password
            self.namespace = namespace
        }

        /// Parses the `--token-source` text.
        public static func parse(_ text: String) throws(ProxyError) -> Source {
            let fields = splitFields(text)
            let usage = "expected host[:port[:db[:password[:namespace]]]]"
            guard (1...5).contains(fields.count), !fields[0].isEmpty else {
                throw .tokenSource(text, why: usage)
            }
            func field(_ n: Int) -> String? { fields.count > n && !fields[n].isEmpty ? fields[n] : nil }
            var source = Source(host: fields[0], password: field(3), namespace: field(4))
            if let port = field(1) {
                guard let number = Int(port), (1...65535).contains(number) else {
                    throw .tokenSource(text, why: "Redis port '\(port)' is not a number in 1-65535; \(usage)")
                }
                source.port = number
            }
            if let db = field(2) {
                guard let number = Int(db), number >= 0 else {
                    throw .tokenSource(text, why: "Redis db '\(db)' is not a number; \(usage)")
                }
                source.db = number
            }
            return source
        }

        /// Splits at colons, except inside a field that is wholly in double quotes.
        static func splitFields(_ text: String) -> [String] {
            var fields: [String] = []
            var rest = Substring(text)
            while true {
                if rest.hasPrefix("\""), let close = rest.dropFirst().firstIndex(of: "\""),
                    rest[rest.index(after: close)...].isEmpty || rest[rest.index(after: close)...].hasPrefix(":")
                {
                    fields.append(String(rest[rest.index(after: rest.startIndex)..<close]))
                    rest = rest[rest.index(after: close)...]
                } else if let colon = rest.firstIndex(of: ":") {
                    fields.append(String(rest[..<colon]))
                    rest = rest[colon...]
                } else {
                    fields.append(String(rest))
                    return fields
                }
                guard rest.hasPrefix(":") else { return fields }
                rest = rest.dropFirst()
            }
        }

        /// For logs: no password.
        public var description: String {
            "\(host):\(port) db \(db)\(namespace.map { " namespace \($0)" } ?? "")"
        }
    }

    public let source: Source
    /// How long connecting may take, and then how long the answers may take.
    public var connectTimeout: TimeAmount = .seconds(2)
    public var answerTimeout: TimeAmount = .seconds(3)

    public init(source: Source) { self.source = source }

    public var summary: String { "TokenRedis \(source.description)" }

    public func target(forToken token: String, on eventLoop: any EventLoop)
        -> EventLoopFuture<ProxyConfiguration.Target>
    {
        let key = source.namespace.map { "\($0):\(token)" } ?? token
        let commands =
            (source.password.map { [["AUTH", $0]] } ?? []) + (source.db != 0 ? [["SELECT", String(source.db)]] : [])
            + [["GET", key]]
        let redis = "Redis at \(source.host):\(source.port)"
        return RedisExchange.run(
            commands, host: source.host, port: source.port, connectTimeout: connectTimeout,
            answerTimeout: answerTimeout, on: eventLoop
        )
        .flatMapErrorThrowing { error in
            throw RequestRefusal.tokenStoreUnavailable("token lookup failed: \(redis): \(error)")
        }
        .flatMapThrowing { replies in
            for (command, reply) in zip(commands, replies) {
                if case .error(let message) = reply {
                    throw RequestRefusal.tokenStoreUnavailable(
                        "token lookup failed: \(redis) refused \(command[0]): \(message)")
                }
            }
            switch replies.last {
            case .bulkString(nil)?:
                throw RequestRefusal.unknownToken(token, store: summary)
            case .bulkString(let bytes?)?:
                switch Self.parseValue(String(decoding: bytes, as: UTF8.self)) {
                case .success(let target): return target
                case .failure(let error):
                    throw RequestRefusal.tokenStoreAnswerUnusable(
                        "unusable value for token \(LogText.quoted(token)) in \(redis): \(error.message)")
                }
            default:
                throw RequestRefusal.tokenStoreUnavailable("token lookup failed: \(redis) answered GET with \(replies.last.map { "\($0)" } ?? "nothing")")
            }
        }
    }

    /// A value stored under a token: JSON with `host` (and `port`), or `host:port`.
    public static func parseValue(_ raw: String) -> Result<ProxyConfiguration.Target, TokenTargetError> {
        let text = raw.trimmingWhitespace()
        guard text.hasPrefix("{") else { return TokenTarget.parse(text) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return .failure(TokenTargetError(message: "value is not valid JSON"))
        }
        return TokenTarget.fromJSON(object)
    }
}
