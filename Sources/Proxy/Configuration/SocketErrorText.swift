import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a socket call failed, in words ("address already in use"), without the name of the NIO
/// function that made it; any other error as it describes itself. For messages to people.
public func socketErrorText(_ error: any Error) -> String {
    guard let io = error as? IOError else { return "\(error)" }
    return String(cString: strerror(io.errnoCode)).lowercased()
}
