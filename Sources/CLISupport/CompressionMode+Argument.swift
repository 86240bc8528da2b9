import ArgumentParser
import Proxy

/// `--compression off|auto` of both servers.
extension CompressionMode: ExpressibleByArgument {}
