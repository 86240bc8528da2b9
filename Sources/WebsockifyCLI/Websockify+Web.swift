import Proxy
import StaticWeb

extension Websockify {
    /// `--web-auth` needs `--web` and an auth plugin (websockify 0.13's rules); `--file-only` without
    /// `--web` changes nothing.
    func checkWebOptions() throws {
        guard webAuth else { return }
        guard web != nil else { throw ProxyError.invalidOption("--web-auth", why: "needs --web") }
        guard authPlugin != nil else { throw ProxyError.invalidOption("--web-auth", why: "needs --auth-plugin") }
    }

    /// `--web=DIR`, `--file-only` and `--web-auth`: the static web server, whose root must be a directory.
    func applyWebOptions(to configuration: inout ProxyConfiguration) throws {
        try checkWebOptions()
        configuration.authenticateWebRequests = webAuth
        guard let web else { return }
        configuration.webResponder = try StaticFileServer(configuration: WebConfiguration(root: web, fileOnly: fileOnly))
    }
}
