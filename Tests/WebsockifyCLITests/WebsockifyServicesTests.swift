import Logging
import NIOConcurrencyHelpers
import Proxy
import ServiceLifecycle
import ServiceSupport
import Testing

@testable import WebsockifyCLI

@Suite("websockify's services: the proxy, then the wrapped program, then the recording")
struct WebsockifyServicesTests {
    /// A proxy on a free loopback port whose shutdown hook (run once its sessions are gone) notes "proxy".
    func services(
        noting events: NIOLockedValueBox<[String]>, listener: ProxyConfiguration.Listener = .address
    ) -> WebsockifyServices {
        var configuration = ProxyConfiguration(
            listenHost: "127.0.0.1", listenPort: 0, upstream: .fixed(.hostPort(host: "127.0.0.1", port: 9)))
        configuration.listener = listener
        configuration.eventLoopThreads = 1
        configuration.shutdownHook = { events.withLockedValue { $0.append("proxy") } }
        var services = WebsockifyServices(
            proxy: ProxyServer(configuration: configuration, logger: Self.silent, handleSignals: false))
        services.afterProxy = ["wrapped program", "recording"].map { name in
            ShutdownStep(name) { events.withLockedValue { $0.append(name) } }
        }
        return services
    }

    static let silent = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func waitUntilListening(_ proxy: ProxyServer) async throws {
        for _ in 0..<1000 where proxy.localPort == nil { try await Task.sleep(for: .milliseconds(10)) }
        try #require(proxy.localPort != nil, "the proxy did not listen")
    }

    @Test("a graceful shutdown (as on SIGTERM) stops the proxy first, then the steps in order")
    func gracefulShutdown() async throws {
        let events = NIOLockedValueBox<[String]>([])
        let services = services(noting: events)
        let group = services.makeGroup(signals: [], logger: Self.silent)
        let running = Task { try await group.run() }
        try await waitUntilListening(services.proxy)
        #expect(events.withLockedValue { $0 }.isEmpty, "nothing stops while serving")
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(events.withLockedValue { $0 } == ["proxy", "wrapped program", "recording"])
    }

    @Test("a proxy that stops on its own (--run-once, --timeout, the wrapped program's exit) ends the group the same way")
    func proxyStops() async throws {
        let events = NIOLockedValueBox<[String]>([])
        let services = services(noting: events)
        let running = Task { try await services.makeGroup(signals: [], logger: Self.silent).run() }
        try await waitUntilListening(services.proxy)
        services.proxy.stop(.requested)
        try await running.value
        #expect(events.withLockedValue { $0 } == ["proxy", "wrapped program", "recording"])
    }

    @Test("a proxy that cannot listen: the group throws its error, and the steps still run (the recording is closed)")
    func cannotListen() async throws {
        let events = NIOLockedValueBox<[String]>([])
        let services = services(noting: events, listener: .inherited(descriptor: -1))
        await #expect(throws: OperationsError.self) {
            try await services.makeGroup(signals: [], logger: Self.silent).run()
        }
        #expect(events.withLockedValue { $0 } == ["wrapped program", "recording"])
    }
}
