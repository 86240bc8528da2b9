import Foundation
import NIOCore
import NIOPosix
import ServiceSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension ProxyServer {
    /// Binds (or adopts) the listening socket ``ProxyConfiguration/listener`` describes.
    func bindListener(_ bootstrap: ServerBootstrap, host: String) async throws -> any Channel {
        switch configuration.listener {
        case .address:
            let socketAddress = try Self.resolve(
                host: host, port: configuration.listenPort, preferIPv6: configuration.preferIPv6)
            return try await bootstrap.bind(to: socketAddress).get()
        case .unixSocket(let path, let mode):
            return try await bindUnixSocket(bootstrap, path: path, mode: mode_t(mode))
        case .inherited(let descriptor):
            try Self.checkListening(descriptor)
            return try await bootstrap.withBoundSocket(descriptor).get()
        }
    }

    /// The error to report when ``bindListener(_:host:)`` failed.
    func listenFailure(_ error: any Error, address: String) -> any Error {
        if error is OperationsError { return error }
        switch configuration.listener {
        case .address:
            return ProxyError.bindFailed(address: address, underlying: error)
        case .unixSocket(let path, _):
            return OperationsError.listener(
                "cannot listen on unix socket \(path): \(error); check that its directory exists and is writable, and that the path is not a regular file"
            )
        case .inherited(let descriptor):
            return OperationsError.listener("cannot use the listening socket on \(Self.name(descriptor)): \(error)")
        }
    }

    private func bindUnixSocket(_ bootstrap: ServerBootstrap, path: String, mode: mode_t) async throws -> any Channel {
        // The socket file is created with the mode already (umask), not widened and then narrowed;
        // chmod afterwards makes it exact. umask is process-wide, but nothing else creates files here.
        let previous = umask(0o777 & ~mode)
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        } catch {
            umask(previous)
            throw error
        }
        umask(previous)
        guard chmod(path, mode) == 0, let inode = Self.inode(path) else {
            let number = errno
            try? await channel.close()
            throw OperationsError.listener(
                "cannot set mode \(String(mode, radix: 8)) on unix socket \(path): \(OperationsError.text(ofErrno: number))")
        }
        // Remove the socket file on stop, unless another process has replaced it meanwhile.
        channel.closeFuture.whenComplete { _ in
            if Self.inode(path) == inode { unlink(path) }
        }
        return channel
    }

    /// The inode number of the file at `path` (without following a final symbolic link is not
    /// needed here: a socket file is never a link we made), nil when there is none.
    static func inode(_ path: String) -> UInt64? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.uint64Value
    }

    /// Throws unless `descriptor` is a listening stream socket, saying how to pass one.
    static func checkListening(_ descriptor: Int32) throws {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        let how =
            "--inetd needs a listening socket there: an inetd 'wait' service, or systemd socket activation with Accept=no and StandardInput=socket"
        guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 else {
            let number = errno
            let what = number == ENOTSOCK ? "is not a socket" : OperationsError.text(ofErrno: number)
            throw OperationsError.listener("\(name(descriptor)) \(what); \(how)")
        }
        guard accepting != 0 else {
            throw OperationsError.listener(
                "\(name(descriptor)) is a socket but not a listening one (one connection, as from inetd 'nowait' or Accept=yes); \(how)"
            )
        }
    }

    private static func name(_ descriptor: Int32) -> String {
        descriptor == 0 ? "standard input" : "descriptor \(descriptor)"
    }
}
