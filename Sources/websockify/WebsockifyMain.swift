import WebsockifyCLI

/// `websockify`: a WebSocket-to-TCP proxy compatible with websockify 0.13. Its command line, configuration
/// and services are WebsockifyCLI's ``Websockify``.
@main
enum WebsockifyMain {
    static func main() async {
        await Websockify.main()
    }
}
