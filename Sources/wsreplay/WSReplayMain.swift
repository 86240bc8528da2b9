import ReplayCLI

/// `wsreplay`: plays a recorded WebSocket session to clients and checks what they send. Its command
/// line and configuration are ReplayCLI's ``WSReplay``.
@main
enum WSReplayMain {
    static func main() async {
        await WSReplay.main()
    }
}
