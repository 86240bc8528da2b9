import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a socket call failed, in words ("address already in use"), without the name of the NIO
/// function that made it; any other error as it describes itself. For messages to people.
///
/// A failed connect names each address tried when there were several ("[::1]:5900: connection
/// refused; 127.0.0.1:5900: connection refused"), or says the name did not resolve.
public func socketErrorText(_ error: any Error) -> String {
    switch error {
    case let io as IOError:
        return String(cString: strerror(io.errnoCode)).lowercased()
    case let connect as NIOConnectionError:
        return connectErrorText(connect)
    case ChannelError.connectTimeout(let limit):
        return "no answer within \(limit.nanoseconds / 1_000_000) ms"
    default:
        return "\(error)"
    }
}

private func connectErrorText(_ error: NIOConnectionError) -> String {
    let failures = error.connectionErrors
    if failures.count == 1 { return socketErrorText(failures[0].error) }
    if !failures.isEmpty {
        return failures.map { "\(addressText($0.target)): \(socketErrorText($0.error))" }.joined(separator: "; ")
    }
    if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve \(error.host)" }
    return "no address to connect to for \(error.host)"
}

private func addressText(_ address: SocketAddress) -> String {
    guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
    if case .v6 = address { return "[\(ip)]:\(port)" }
    return "\(ip):\(port)"
}
