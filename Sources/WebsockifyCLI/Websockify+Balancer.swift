import Proxy

extension Websockify {
    /// `--proxy-protocol`, `--trust-proxy` and `--forwarded-header`, checked and turned into
    /// ``BalancerSettings``.
    func balancerSettings() throws -> BalancerSettings {
        var settings = BalancerSettings()
        settings.proxyProtocol = proxyProtocol
        for value in trustProxy {
            let items = value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            guard !items.isEmpty else {
                throw ProxyError.invalidOption("--trust-proxy", why: "needs a network, e.g. 10.0.0.0/8")
            }
            for item in items {
                guard let trusted = BalancerSettings.TrustedProxy(item) else {
                    throw ProxyError.invalidOption(
                        "--trust-proxy \(item)",
                        why: "not an IPv4 or IPv6 network (10.0.0.0/8, 2001:db8::/32), an address, or unix")
                }
                if !settings.trustedProxies.contains(trusted) { settings.trustedProxies.append(trusted) }
            }
        }
        if let forwardedHeader {
            guard !trustProxy.isEmpty else {
                throw ProxyError.invalidOption("--forwarded-header", why: "needs --trust-proxy")
            }
            guard let header = BalancerSettings.ForwardedHeader(rawValue: forwardedHeader.lowercased()) else {
                throw ProxyError.invalidOption(
                    "--forwarded-header=\(forwardedHeader)", why: "takes x-forwarded-for or forwarded")
            }
            settings.forwardedHeader = header
        }
        return settings
    }
}
