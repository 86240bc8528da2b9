import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The socket to the syslog server, used by ``SyslogDelivery``'s thread only: blocking sends with
/// time limits, reconnecting when the server went away.
///
/// How each transport tells that a line did not arrive:
/// - a local datagram socket (`/dev/log`): `send` fails when the daemon is gone (ECONNREFUSED,
///   ENOENT on reconnecting); a daemon that is slow makes `send` wait.
/// - UDP: nothing tells, except the ICMP "port unreachable" a closed port answers with. With
///   `IP_RECVERR` every such answer is kept on the socket's error queue together with the start
///   of the refused datagram, so ``takeRefused(now:)`` can tell from where to send again. A refusal
///   stands for every datagram sent after the refused one too: those may have been refused with
///   their ICMP answer lost or rate limited (Linux sends about 6 at once, then 1 a second), so
///   they are all sent again, in order; a receiver may then get a line twice, never miss one.
///   A datagram dropped silently with no refusal at all (a firewall) cannot be known.
/// - TCP: a refused or failed connection, or the server closing it (seen before each send).
///   Bytes already handed to the kernel when the server dies are lost, as with every plain TCP
///   syslog sender (RFC 6587 has no acknowledgements).
final class SyslogConnection {
    enum SendResult: Equatable {
        case sent
        /// Not sent; connect again before the next try.
        case broken(String)
        /// Not sent; try again on the same socket (a slow local daemon, an earlier UDP refusal).
        case retry(String)
    }

    let destination: SyslogDestination
    /// RFC 6587 §3.4.1 octet counting (`LEN SP MSG`) when true, else §3.4.2 LF-terminated frames;
    /// TCP only.
    let octetCounting: Bool
    private var fd: Int32 = -1
    /// UDP: datagrams sent in the last ``refusalWindow`` that an ICMP answer may still refuse, in
    /// the order sent, with the sequence number the sender gave each.
    private var unconfirmed: [(sequence: UInt64, datagram: [UInt8], sentAt: UInt64)] = []
    /// When the last line was sent (handed to the kernel).
    private var lastSent: UInt64?

    /// How long after sending a UDP datagram its refusal is still looked for. ICMP comes back
    /// within a round trip; 2 s covers slow links without keeping much.
    static let refusalWindow: UInt64 = 2_000_000_000
    /// The most datagrams kept for resending. When that many wait for their fate, no more are sent
    /// (``isSaturated``) until the oldest is older than ``refusalWindow``: forgetting one earlier
    /// would lose it if it turned out refused.
    static let unconfirmedLimit = 2048

    init(destination: SyslogDestination, octetCounting: Bool) {
        self.destination = destination
        self.octetCounting = octetCounting
    }

    deinit { disconnect() }

    var isConnected: Bool { fd >= 0 }

    /// Datagrams still waiting to see whether they are refused.
    var awaitsRefusals: Bool { !unconfirmed.isEmpty }

    /// UDP: ``unconfirmedLimit`` datagrams may still be refused; the next waits.
    var isSaturated: Bool { unconfirmed.count >= Self.unconfirmedLimit }

    /// Whether a line sent since `since` got through, after a failure.
    enum Probe: Equatable {
        /// Nothing was sent since.
        case none
        /// A UDP datagram was sent less than ``probeWait`` ago and may still be refused.
        case pending
        case delivered
    }

    /// After a failure, how long a UDP datagram must go unrefused before the lines after it
    /// follow. ICMP answers come back within a round trip.
    static let probeWait: UInt64 = 200_000_000

    func probe(sentAfter since: UInt64, now: UInt64) -> Probe {
        guard let last = lastSent, last >= since else { return .none }
        if case .udp = destination, now &- last < Self.probeWait { return .pending }
        return .delivered
    }

    /// Opens the socket (a TCP connection waits up to 3 s); throws ``OperationsError`` saying why not.
    func connect() throws {
        disconnect()
        switch destination {
        case .unixSocket(let path):
            fd = try Self.connectUnixDatagram(path)
            // A daemon that reads nothing for 1 s: the send returns, and is tried again.
            Self.setSendTimeout(fd, milliseconds: 1000)
        case .udp(let host, let port):
            fd = try Self.connectInternet(host: host, port: port, type: SOCK_DGRAM)
            // Keep each ICMP error with the datagram it refuses (ip(7) IP_RECVERR, ipv6(7) IPV6_RECVERR).
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_IP), Self.ipRecvErr, &on, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), Self.ipv6RecvErr, &on, socklen_t(MemoryLayout<Int32>.size))
        case .tcp(let host, let port):
            fd = try Self.connectInternet(host: host, port: port, type: SOCK_STREAM)
            Self.setSendTimeout(fd, milliseconds: 5000)
        }
    }

    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Sends one message (one datagram, or one frame on TCP); `sequence` is what
    /// ``takeRefused(now:)`` gives back with it (numbers increase in the order lines were logged).
    func send(_ message: [UInt8], sequence: UInt64, now: UInt64) -> SendResult {
        let result = transmit(message, sequence: sequence, now: now)
        if result == .sent { lastSent = now }
        return result
    }

    private func transmit(_ message: [UInt8], sequence: UInt64, now: UInt64) -> SendResult {
        guard fd >= 0 else { return .broken("not connected") }
        switch destination {
        case .unixSocket:
            if message.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) >= 0 {
                return .sent
            }
            let number = errno
            if number == EAGAIN || number == EINTR || number == ENOBUFS {
                return .retry("the syslog daemon is not reading (\(OperationsError.text(ofErrno: number)))")
            }
            disconnect()
            return .broken(OperationsError.text(ofErrno: number))
        case .udp:
            if message.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) >= 0 {
                unconfirmed.append((sequence, message, now))
                return .sent
            }
            // ECONNREFUSED here reports an earlier datagram's refusal; this one was not sent.
            return .retry(OperationsError.text(ofErrno: errno))
        case .tcp:
            if Self.peerClosed(fd) {
                disconnect()
                return .broken("the syslog server closed the connection")
            }
            let frame = octetCounting ? Array("\(message.count) ".utf8) + message : message + [0x0A]
            if let failure = Self.writeAll(frame, to: fd) {
                disconnect()
                return .broken(failure)
            }
            return .sent
        }
    }

    /// UDP: the datagrams to send again, with their sequence numbers, in the order sent. When an
    /// ICMP answer refused one of those still unconfirmed, that one and every one sent after it
    /// are taken (see the type's comment) and nothing stays unconfirmed; those sent before it were
    /// not refused. Without a refusal nothing is taken, and datagrams older than
    /// ``refusalWindow`` are forgotten (taken as delivered).
    func takeRefused(now: UInt64) -> [(sequence: UInt64, line: [UInt8])] {
        guard case .udp = destination, fd >= 0 else { return [] }
        var excerpts: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        var control = [UInt8](repeating: 0, count: 512)
        while true {
            let received = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { control in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = control.baseAddress
                        header.msg_controllen = control.count
                        return recvmsg(fd, &header, Int32(MSG_ERRQUEUE) | Int32(MSG_DONTWAIT))
                    }
                }
            }
            guard received >= 0 else { break }
            // The start of the refused datagram (as much as the ICMP message carried back).
            excerpts.append(Array(buffer[0..<received]))
        }
        if let first = Self.firstRefused(sent: unconfirmed.map(\.datagram), excerpts: excerpts) {
            let refused = unconfirmed[first...].map { (sequence: $0.sequence, line: $0.datagram) }
            unconfirmed.removeAll()
            return refused
        }
        unconfirmed.removeAll { now &- $0.sentAt >= Self.refusalWindow }
        return []
    }

    /// The index in `sent` (datagrams in the order sent) of the earliest one that one of the
    /// `excerpts` (starts of refused datagrams) refers to; nil if none does (an answer to a
    /// datagram already sent again or forgotten).
    static func firstRefused(sent: [[UInt8]], excerpts: [[UInt8]]) -> Int? {
        excerpts.compactMap { excerpt in sent.firstIndex { !excerpt.isEmpty && $0.starts(with: excerpt) } }.min()
    }

    // MARK: - Sockets

    /// A datagram socket connected to the local socket at `path`.
    static func connectUnixDatagram(_ path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw OperationsError.syslog("--syslog=\(path): a socket path is at most \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw OperationsError.syslog("cannot open a socket for syslog: \(OperationsError.text(ofErrno: errno))")
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let number = errno
            close(fd)
            let hint =
                switch number {
                case ENOENT: "is a syslog daemon running? (or give a server as --syslog=HOST:PORT or tcp:HOST:PORT)"
                case EPROTOTYPE: "it is a stream socket; websockify sends datagrams, as to /dev/log"
                case ECONNREFUSED: "nothing reads that socket; is the syslog daemon running?"
                default: "check the path and its permissions"
                }
            throw OperationsError.syslog(
                "cannot reach syslog at \(path): \(OperationsError.text(ofErrno: number)); \(hint)")
        }
        return fd
    }

    /// Resolves `host`, throwing the error a user sees when it does not resolve.
    static func resolve(host: String, port: Int, type: __socket_type) throws -> (family: Int32, address: [UInt8]) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(type.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result, let address = first.pointee.ai_addr else {
            if status == 0 { freeaddrinfo(result) }
            throw OperationsError.syslog(
                "cannot resolve syslog server \(host): \(String(cString: gai_strerror(status))); check --syslog=HOST:PORT"
            )
        }
        defer { freeaddrinfo(first) }
        let bytes = Array(UnsafeRawBufferPointer(start: address, count: Int(first.pointee.ai_addrlen)))
        return (first.pointee.ai_family, bytes)
    }

    /// A UDP socket connected to, or a TCP connection made to, `host:port` (TCP within 3 s).
    private static func connectInternet(host: String, port: Int, type: __socket_type) throws -> Int32 {
        let (family, address) = try resolve(host: host, port: port, type: type)
        let display = SyslogDestination.tcp(host: host, port: port).displayString.dropFirst(4)
        let fd = socket(family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw OperationsError.syslog("cannot open a socket for syslog: \(OperationsError.text(ofErrno: errno))")
        }
        let stream = type == SOCK_STREAM
        if stream { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        var number: Int32 = 0
        let started = address.withUnsafeBytes {
            Glibc.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        if started != 0 { number = errno }
        if stream && number == EINPROGRESS {
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&poller, 1, 3000) == 1 {
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &number, &length)
            } else {
                number = ETIMEDOUT
            }
        }
        guard number == 0 else {
            close(fd)
            throw OperationsError.syslog(
                "cannot \(stream ? "connect" : "send") to syslog server \(stream ? "tcp" : "udp"):\(display): \(OperationsError.text(ofErrno: number))"
            )
        }
        if stream { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        return fd
    }

    private static func setSendTimeout(_ fd: Int32, milliseconds: Int) {
        var limit = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A syslog server never sends: a readable TCP socket means it closed the connection (or reset it).
    private static func peerClosed(_ fd: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) == 1 else { return false }
        var scratch = [UInt8](repeating: 0, count: 512)
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { continue }
            return n == 0 || (errno != EAGAIN && errno != EINTR)
        }
    }

    /// Writes all of `bytes`; the failure's text if it cannot.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> String? {
        var offset = 0
        var stalls = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n >= 0 {
                offset += n
                stalls = 0
                continue
            }
            let number = errno
            if number == EINTR { continue }
            // SO_SNDTIMEO expired: a server that takes nothing for 30 s in a row is given up on.
            if number == EAGAIN, stalls < 6 {
                stalls += 1
                continue
            }
            return OperationsError.text(ofErrno: number)
        }
        return nil
    }

    /// `IP_RECVERR` and `IPV6_RECVERR` from <linux/in.h>, <linux/in6.h>.
    private static let ipRecvErr: Int32 = 11
    private static let ipv6RecvErr: Int32 = 25
}
