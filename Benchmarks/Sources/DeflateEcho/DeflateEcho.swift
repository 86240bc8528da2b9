import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A WebSocket echo server made of the proxy's own frame parser and permessage-deflate code, for
/// conformance suites that need an echo server (the Autobahn|Testsuite's fuzzingclient): a relay to a
/// TCP echo cannot keep a message's type or its boundaries, so such a suite cannot judge the proxy's
/// extension through one. A test tool, not a product feature (issue 18 §1).
///
///     DeflateEcho [--port N]     listens on 127.0.0.1 (port 0: any free one), prints "listening on PORT"
@main
struct DeflateEcho {
    static func main() throws {
        let arguments = CommandLine.arguments
        var port = 0
        if let index = arguments.firstIndex(of: "--port"), index + 1 < arguments.count, let value = Int(arguments[index + 1]),
            (0...65_535).contains(value)
        {
            port = value
        } else if arguments.count > 1 {
            print("usage: DeflateEcho [--port N]")
            return
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DeflateEchoHandler())
                }
            }
            .bind(host: "127.0.0.1", port: port).wait()
        // Unbuffered, so that a test reading the pipe sees it at once.
        let line = "listening on \(channel.localAddress?.port ?? port)\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        try channel.closeFuture.wait()
    }
}
