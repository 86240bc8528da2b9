import Proxy

/// `--auth-plugin` names to ``RequestAuthenticator``s.
public enum AuthPlugins {
    /// The plugins this proxy has, by websockify's class names.
    public static let names = ["BasicHTTPAuth", "ExpectOrigin", "ClientCertCNAuth"]

    /// The authenticator for `--auth-plugin=plugin --auth-source=source`; a ``ProxyError`` for an
    /// unknown plugin or a missing or unusable source.
    public static func make(plugin: String, source: String?) throws(ProxyError) -> any RequestAuthenticator {
        let name = try PluginName.resolve(
            plugin, module: "websockify.auth_plugins", known: names, option: "--auth-plugin")
        guard let source, !source.isEmpty else {
            throw .invalidPluginOption("--auth-plugin=\(plugin)", why: "needs --auth-source")
        }
        switch name {
        case "BasicHTTPAuth": return try BasicHTTPAuth(source: source)
        case "ExpectOrigin": return try ExpectOrigin(source: source)
        default: return try ClientCertCNAuth(source: source)
        }
    }

    /// The white-space separated items of an `--auth-source`; a usage error when there are none.
    static func list(_ source: String, plugin: String, needs: String) throws(ProxyError) -> [String] {
        let items = source.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        guard !items.isEmpty else { throw .invalidPluginOption("--auth-source", why: "\(plugin) needs \(needs)") }
        return items
    }
}
