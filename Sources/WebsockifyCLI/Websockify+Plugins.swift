import CLISupport
import Logging
import Proxy
import ProxyPlugins

/// `--token-plugin`, `--token-source`, `--host-token`, `--target-config`, `--auth-plugin`,
/// `--auth-source`: websockify's checks, then the plugins from the Proxy library.
extension Websockify {
    /// The token plugin and its source the options name (`--target-config` is `TokenFile`), or nil
    /// without one; checks how the options go together, not the plugin's name or source.
    func tokenPluginOptions() throws -> (plugin: String, source: String?)? {
        if let targetConfig {
            guard tokenPlugin == nil, tokenSource == nil else {
                throw ProxyError.invalidPluginOption(
                    "--target-config", why: "give either --target-config or --token-plugin/--token-source, not both")
            }
            return ("TokenFile", targetConfig)
        }
        guard let tokenPlugin else {
            if tokenSource != nil {
                throw ProxyError.invalidPluginOption("--token-source", why: "You must use --token-plugin to use --token-source")
            }
            if hostToken {
                throw ProxyError.invalidPluginOption("--host-token", why: "You must use --token-plugin to use --host-token")
            }
            return nil
        }
        return (tokenPlugin, tokenSource)
    }

    /// The token plugin's resolver, or nil without `--token-plugin`/`--target-config`. Reads its source.
    func makeTokenResolver(logger: Logger) throws -> TokenTargetResolver? {
        guard let options = try tokenPluginOptions() else { return nil }
        // Made absolute by the plugin, as websockify does, in case the working directory changes.
        return try TokenPlugins.make(plugin: options.plugin, source: options.source, hostToken: hostToken, logger: logger)
    }

    /// The step that shuts the token plugin down once the proxy has stopped (a token API's HTTP client),
    /// or nil without a token plugin.
    static func tokenPluginShutdownStep(for configuration: ProxyConfiguration) -> ShutdownStep? {
        guard case .resolver(let resolver as TokenTargetResolver) = configuration.upstream else { return nil }
        return ShutdownStep("token plugin") { await resolver.shutdown() }
    }

    /// The auth plugin's name, or nil without `--auth-plugin`; checks how the options go together.
    func authPluginOptions() throws -> String? {
        guard let authPlugin else {
            if authSource != nil {
                throw ProxyError.invalidPluginOption("--auth-source", why: "You must use --auth-plugin to use --auth-source")
            }
            return nil
        }
        return authPlugin
    }

    /// The auth plugin, or nil without `--auth-plugin`.
    func makeAuthenticator() throws -> (any RequestAuthenticator)? {
        guard let authPlugin = try authPluginOptions() else { return nil }
        let authenticator = try AuthPlugins.make(plugin: authPlugin, source: authSource)
        if authenticator is ClientCertCNAuth, !tls.verifyClient {
            throw ProxyError.invalidPluginOption(
                "--auth-plugin \(authPlugin)", why: "needs --verify-client (and --cert): the names come from verified client certificates")
        }
        return authenticator
    }
}
