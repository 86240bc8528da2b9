import Proxy

extension Websockify {
    /// `--web=DIR`, `--file-only` and `--web-auth`, as websockify 0.13 has them: `--web-auth` needs
    /// `--web` and an auth plugin; `--file-only` without `--web` changes nothing.
    func applyWebOptions(to configuration: inout ProxyConfiguration) throws {
        if webAuth {
            guard web != nil else { throw ProxyError.invalidOption("--web-auth", why: "needs --web") }
            guard configuration.authenticator != nil else {
                throw ProxyError.invalidOption("--web-auth", why: "needs --auth-plugin")
            }
            configuration.authenticateWebRequests = true
        }
        guard let web else { return }
        configuration.webResponder = try StaticFileServer(configuration: WebConfiguration(root: web, fileOnly: fileOnly))
    }
}
