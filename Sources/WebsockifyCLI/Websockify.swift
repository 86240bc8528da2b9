import ArgumentParser
import CLISupport
import Proxy
import RecordFormat

/// `websockify`'s command line: websockify 0.13's options. From them ``validate()`` checks the options,
/// ``makeConfiguration(pluginLogger:)`` builds the ``ProxyConfiguration`` and ``run()`` runs it with the
/// recording and the wrapped program as services (see ``WebsockifyServices``).
public struct Websockify: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "websockify",
        abstract: "WebSocket-to-TCP proxy, compatible with websockify 0.13.",
        usage: """
            websockify [options] [source_addr:]source_port target_addr:target_port
            websockify [options] --token-plugin=CLASS [source_addr:]source_port
            websockify [options] --unix-target=FILE [source_addr:]source_port
            websockify [options] [source_addr:]source_port -- WRAP_COMMAND_LINE
            websockify [options] --inetd|--unix-listen=FILE target_addr:target_port
            """,
        version: RecordFormatVersion.producerVersion
    )

    @Argument(
        help: "Listen address: [source_addr:]source_port (IPv6 in brackets); the target with --inetd or --unix-listen.")
    var source: String?

    @Argument(help: "Target address: target_addr:target_port (IPv6 in brackets).")
    var target: String?

    @Option(name: .customLong("unix-target"), help: ArgumentHelp("connect to unix socket target", valueName: "FILE"))
    var unixTarget: String?

    @Flag(name: [.customShort("6"), .customLong("prefer-ipv6")], help: "prefer IPv6 when resolving source_addr")
    var preferIPv6 = false

    @Flag(name: .shortAndLong, help: "verbose messages")
    var verbose = false

    @Flag(help: "per frame traffic")
    var traffic = false

    @Flag(name: .customLong("run-once"), help: "handle a single WebSocket connection and exit")
    var runOnce = false

    @Option(help: ArgumentHelp("after TIMEOUT seconds exit when not connected", valueName: "TIMEOUT"))
    var timeout: Double?

    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp(
            "server exits after TIMEOUT seconds if there are no active connections", valueName: "IDLE_TIMEOUT"))
    var idleTimeout: Double?

    @Option(help: ArgumentHelp("send a ping to the client every INTERVAL seconds", valueName: "INTERVAL"))
    var heartbeat: Double?

    @Option(
        help: ArgumentHelp(
            "permessage-deflate with clients that offer it (browsers do): auto compresses what the target sends "
                + "when it is worth it and inflates what the client sends; off never agrees to it",
            valueName: "off|auto"))
    var compression = CompressionMode.auto

    @Option(
        name: .customLong("max-message-size"),
        help: ArgumentHelp(
            "close a client whose message (all fragments, and once inflated when compressed) is over BYTES "
                + "with 1009 (default 67108864, 64 MiB)",
            valueName: "BYTES"))
    var maxMessageSize: Int?

    @Option(name: .customLong("log-file"), help: ArgumentHelp("File where logs will be saved", valueName: "FILE"))
    var logFile: String?

    @Option(
        help: ArgumentHelp(
            "record sessions to FILE.rec (FILE itself when it ends in .rec); a restart appends",
            valueName: "FILE"))
    var record: String?

    @Option(
        name: .customLong("record-redact"),
        help: ArgumentHelp(
            "keep out of recordings: auth (VNC authentication response), keys (RFB key events); comma-separated",
            valueName: "WHAT"))
    var recordRedact: String?

    @Option(
        name: .customLong("record-mode"),
        help: ArgumentHelp(
            "permission bits of a new recording file, in octal (default 0600: recordings hold what was typed, "
                + "passwords included; e.g. 0640 to let the group read them; an empty file put there gets it too); an "
                + "existing recording keeps its mode",
            valueName: "MODE"))
    var recordMode: String?

    @Option(
        name: .customLong("record-rotate"),
        help: ArgumentHelp(
            "with --record FILE: write FILE-YYYYmmddTHHMMSS.rec files (UTC), each closed with its index and the next "
                + "started once it reaches SIZE (e.g. 512KiB, 2MB, 1GiB) or at each whole DURATION (e.g. 30s, 15m, 1h)",
            valueName: "SIZE|DURATION"))
    var recordRotate: String?

    @Option(
        name: .customLong("record-dir"),
        help: ArgumentHelp("the directory --record-per-session writes into", valueName: "DIR"))
    var recordDir: String?

    @Flag(
        name: .customLong("record-per-session"),
        help: "record each session into a new file of its own in --record-dir, named START-TOKEN-ID.rec")
    var recordPerSession = false

    @Option(
        name: .customLong("record-on-close"),
        help: ArgumentHelp(
            "run CMD with /bin/sh for every recording file closed (rotated, a session's, at exit), complete and "
                + "verified; the file's path is $1, e.g. 'rclone move \"$1\" remote:recordings/'",
            valueName: "CMD"))
    var recordOnClose: String?

    @Option(
        name: .customLong("record-on-close-jobs"),
        help: ArgumentHelp("run at most N --record-on-close commands at once (default 2)", valueName: "N"))
    var recordOnCloseJobs: Int?

    // MARK: TLS

    @OptionGroup var tls: ProxyTLSOptions

    // Behind a load balancer (see Websockify+Balancer.swift, docs/proxy.md "Behind a load balancer").
    @Flag(
        name: .customLong("proxy-protocol"),
        help: ArgumentHelp(
            "every connection starts with a PROXY protocol header, version 1 or 2 (HAProxy's send-proxy, "
                + "send-proxy-v2): its source is the client; connections without one are closed"))
    var proxyProtocol = false

    @Option(
        name: .customLong("trust-proxy"),
        help: ArgumentHelp(
            "take the client from the X-Forwarded-For header (or --forwarded-header) of requests whose peer is in "
                + "CIDR (10.0.0.0/8, 2001:db8::/32, an address, or unix for --unix-listen peers); repeatable or "
                + "comma-separated; other peers' headers are ignored",
            valueName: "CIDR"))
    var trustProxy: [String] = []

    @Option(
        name: .customLong("forwarded-header"),
        help: ArgumentHelp(
            "the header --trust-proxy peers name the client in: x-forwarded-for (the default) or forwarded "
                + "(RFC 7239); the other one is ignored",
            valueName: "NAME"))
    var forwardedHeader: String?

    // Token and auth plugins (websockify's names; see docs/proxy.md "Tokens and auth").
    @Option(
        name: .customLong("token-plugin"),
        help: ArgumentHelp(
            "pick each session's target by token: TokenFile, ReadOnlyTokenFile, TokenFileName, JWTTokenApi, TokenRedis, JSONTokenApi, BaseTokenAPI, UnixDomainSocketDirectory",
            valueName: "CLASS"))
    var tokenPlugin: String?

    @Option(
        name: .customLong("token-source"),
        help: ArgumentHelp("the token plugin's source (file or directory, key file, redis address, API URL with %s)", valueName: "ARG"))
    var tokenSource: String?

    @Flag(
        name: .customLong("host-token"),
        help: "use the host HTTP header as token instead of the token URL query parameter")
    var hostToken = false

    @Option(
        name: .customLong("target-config"),
        help: ArgumentHelp(
            "token file or directory of 'token: host:port' lines (DEPRECATED: use --token-plugin TokenFile --token-source FILE)",
            valueName: "FILE"))
    var targetConfig: String?

    @Option(
        name: .customLong("auth-plugin"),
        help: ArgumentHelp(
            "check requests before the upgrade: BasicHTTPAuth, ExpectOrigin, ClientCertCNAuth", valueName: "CLASS"))
    var authPlugin: String?

    @Option(name: .customLong("auth-source"), help: ArgumentHelp("the auth plugin's argument", valueName: "ARG"))
    var authSource: String?

    // Static web server on the same port (see Websockify+Web.swift).
    @Option(help: ArgumentHelp("also answer plain HTTP requests on the same port with the files in DIR", valueName: "DIR"))
    var web: String?

    @Flag(name: .customLong("file-only"), help: "no directory listings from the web server")
    var fileOnly = false

    @Flag(name: .customLong("web-auth"), help: "web requests must pass the auth plugin too")
    var webAuth = false

    @Option(
        name: .customLong("health-path"),
        help: ArgumentHelp(
            "answer GET/HEAD of PATH (e.g. /healthz, query ignored) with 200 while accepting and 503 once shutting "
                + "down, for load balancers; never checked by --auth-plugin or --web-auth (a balancer has no "
                + "credentials), and it wins over a --web file of that name",
            valueName: "PATH"))
    var healthPath: String?

    @OptionGroup var metricsOptions: MetricsOptions

    @OptionGroup var connectionLimits: ConnectionLimitOptions

    @OptionGroup var eventLoops: EventLoopOptions

    @Flag(help: "accepted for compatibility with websockify 0.13 (its Python SocketServer engine); ignored")
    var libserver = false

    @Flag(name: [.customShort("D"), .long], help: "run in the background once listening (new session, working directory /)")
    var daemon = false

    @Option(name: .customLong("unix-listen"), help: ArgumentHelp("listen on a unix socket at FILE instead of a TCP port", valueName: "FILE"))
    var unixListen: String?

    @Option(
        name: .customLong("unix-listen-mode"),
        help: ArgumentHelp("permission bits of the --unix-listen socket, in octal (default 0600)", valueName: "UNIX_LISTEN_MODE"))
    var unixListenMode: String?

    @Flag(help: "serve the listening socket given as standard input (inetd wait mode, systemd Accept=no)")
    var inetd = false

    @Option(
        name: .customLong("wrap-mode"),
        help: ArgumentHelp(
            "when the wrapped program exits: exit (with its status; the default), ignore, respawn",
            valueName: "MODE"))
    var wrapMode: String?

    @Option(
        help: ArgumentHelp(
            "also log to syslog: a local socket such as /dev/log, a UDP server as HOST:PORT, or a TCP server as "
                + "tcp:HOST:PORT; lines wait (up to 10000) while the server is not reachable",
            valueName: "SERVER"))
    var syslog: String?

    // Shutdown on SIGTERM/SIGINT (see Websockify+Shutdown.swift, docs/proxy.md "Shutting down").
    @Option(
        name: .customLong("lame-duck"),
        help: ArgumentHelp(
            "with --health-path: on SIGTERM keep accepting sessions for SECONDS while the health path already "
                + "answers 503, so that a balancer checking more often than that stops routing here before "
                + "the listener closes (default 2; 0: close it at once)",
            valueName: "SECONDS"))
    var lameDuck: Double?

    @Option(
        name: .customLong("drain-timeout"),
        help: ArgumentHelp(
            "on shutdown let open sessions run for up to SECONDS after the listener closed before closing them "
                + "with 1001 (default 0: at once); a second SIGTERM or SIGINT ends the lame duck and the drain",
            valueName: "SECONDS"))
    var drainTimeout: Double?

    @Flag(
        name: .customLong("legacy-syslog"),
        help: "send RFC 3164 syslog messages instead of RFC 5424, for receivers that misread RFC 5424")
    var legacySyslog = false

    @Argument(
        parsing: .postTerminator,
        help: ArgumentHelp(
            "after --: a program to run with its bind() of source_port moved to a loopback port, which is proxied",
            valueName: "WRAP_COMMAND_LINE"))
    var wrapCommand: [String] = []

    public init() {}
}
