import ArgumentParser
import Proxy

@testable import WebsockifyCLI

/// The configuration websockify builds from `arguments`, as `run()` would build it.
func configuration(_ arguments: [String]) throws -> ProxyConfiguration {
    try Websockify.parse(arguments).makeConfiguration()
}
