import Foundation
import Logging
import Proxy
import WebsockifyCLI

/// `--token-plugin`, `--token-source`, `--host-token`, `--target-config`, `--auth-plugin`,
/// `--auth-source`: websockify's checks, then the plugins from the Proxy library.
extension Websockify {
    /// Drops everything: plugins built while validating arguments, before logging is set up.
    static let silentLogger = Logger(label: "websockify", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The token plugin's resolver, or nil without `--token-plugin`/`--target-config`.
    func makeTokenResolver(logger: Logger) throws -> TokenTargetResolver? {
        if let targetConfig {
            guard tokenPlugin == nil, tokenSource == nil else {
                throw ProxyError.invalidPluginOption(
                    "--target-config", why: "give either --target-config or --token-plugin/--token-source, not both")
            }
            // Made absolute by the plugin, as websockify does, in case the working directory changes.
            return try TokenPlugins.make(plugin: "TokenFile", source: targetConfig, hostToken: hostToken, logger: logger)
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
        return try TokenPlugins.make(plugin: tokenPlugin, source: tokenSource, hostToken: hostToken, logger: logger)
    }

    /// The auth plugin, or nil without `--auth-plugin`.
    func makeAuthenticator() throws -> (any RequestAuthenticator)? {
        guard let authPlugin else {
            if authSource != nil {
                throw ProxyError.invalidPluginOption("--auth-source", why: "You must use --auth-plugin to use --auth-source")
            }
            return nil
        }
        let authenticator = try AuthPlugins.make(plugin: authPlugin, source: authSource)
        if authenticator is ClientCertCNAuth, !tls.verifyClient {
            throw ProxyError.invalidPluginOption(
                "--auth-plugin \(authPlugin)", why: "needs --verify-client (and --cert): the names come from verified client certificates")
        }
        return authenticator
    }
}
