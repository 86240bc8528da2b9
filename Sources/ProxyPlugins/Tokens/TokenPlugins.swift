import Foundation
import Logging
import NIOHTTP1
import Proxy

/// `--token-plugin` names to ``TokenStore``s.
public enum TokenPlugins {
    /// The plugins this proxy has, by websockify's class names.
    public static let names = [
        "TokenFile", "ReadOnlyTokenFile", "TokenFileName", "JWTTokenApi", "TokenRedis", "BaseTokenAPI", "JSONTokenApi",
        "UnixDomainSocketDirectory",
    ]

    /// The resolver for `--token-plugin=plugin --token-source=source [--host-token]`; a
    /// ``ProxyError`` for an unknown plugin, a missing source, or a source that can't be used.
    ///
    /// A relative file source (`TokenFile`, `ReadOnlyTokenFile`, `TokenFileName`, `JWTTokenApi`,
    /// `UnixDomainSocketDirectory`) is made absolute
    /// against `workingDirectory`: `-D` moves the daemon to `/`, and `TokenFile` reads its source
    /// again on later lookups.
    public static func make(
        plugin: String, source: String?, hostToken: Bool, logger: Logger,
        workingDirectory: String = FileManager.default.currentDirectoryPath
    ) throws(ProxyError) -> TokenTargetResolver {
        let name = try PluginName.resolve(
            plugin, module: "websockify.token_plugins", known: names, option: "--token-plugin",
            ownLookup: "to look tokens up your own way, answer HTTP GETs and use --token-plugin=JSONTokenApi "
                + "--token-source='http://127.0.0.1:8000/token/%s' (see docs/proxy.md)")
        guard let source, !source.isEmpty else {
            throw .invalidPluginOption("--token-plugin=\(plugin)", why: "needs --token-source")
        }
        let store: any TokenStore
        switch name {
        case "TokenFile", "ReadOnlyTokenFile":
            store = try TokenFileStore(
                source: absolute(source, in: workingDirectory), readOnly: name == "ReadOnlyTokenFile", logger: logger)
        case "TokenFileName":
            store = try DirectoryTokenStore(directory: absolute(source, in: workingDirectory), kind: .fileName)
        case "UnixDomainSocketDirectory":
            store = try DirectoryTokenStore(directory: absolute(source, in: workingDirectory), kind: .unixSockets)
        case "JWTTokenApi":
            store = try JWTTokenStore(keyFile: absolute(source, in: workingDirectory))
        case "BaseTokenAPI", "JSONTokenApi":
            store = TokenAPIStore(url: try TokenAPIURL(source), format: name == "JSONTokenApi" ? .json : .plain)
        default:
            store = RedisTokenStore(source: try RedisTokenStore.Source.parse(source))
        }
        return TokenTargetResolver(store: store, hostToken: hostToken, pluginName: name)
    }

    /// `path` made absolute against `directory`, with `.` and `..` components resolved.
    static func absolute(_ path: String, in directory: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory, isDirectory: true)).absoluteURL
            .standardizedFileURL.path
    }
}
