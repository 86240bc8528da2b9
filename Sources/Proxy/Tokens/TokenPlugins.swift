import NIOHTTP1
import Logging

/// `--token-plugin` names to ``TokenStore``s.
public enum TokenPlugins {
    /// The plugins this proxy has, by websockify's class names.
    public static let names = ["TokenFile", "ReadOnlyTokenFile", "JWTTokenApi", "TokenRedis"]

    /// The resolver for `--token-plugin=plugin --token-source=source [--host-token]`; a
    /// ``ProxyError`` for an unknown plugin, a missing source, or a source that can't be used.
    public static func make(plugin: String, source: String?, hostToken: Bool, logger: Logger) throws(ProxyError)
        -> TokenTargetResolver
    {
        let name = try PluginName.resolve(
            plugin, module: "websockify.token_plugins", known: names, option: "--token-plugin")
        guard let source, !source.isEmpty else {
            throw .invalidPluginOption("--token-plugin=\(plugin)", why: "needs --token-source")
        }
        let store: any TokenStore
        switch name {
        case "TokenFile", "ReadOnlyTokenFile":
            store = try TokenFileStore(source: source, readOnly: name == "ReadOnlyTokenFile", logger: logger)
        case "JWTTokenApi":
            store = try JWTTokenStore(keyFile: source)
        default:
            store = RedisTokenStore(source: try RedisTokenStore.Source.parse(source))
        }
        return TokenTargetResolver(store: store, hostToken: hostToken)
    }
}
