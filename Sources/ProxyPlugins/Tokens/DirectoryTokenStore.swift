import Foundation
import NIOCore
import NIOPosix
import Proxy

/// The plugins whose tokens are names in a directory (``TokenPath``: no token reaches outside it).
/// Lookups `stat` and read on a thread pool, so the event loop never waits on the disk, and a file or
/// socket added, changed or removed counts at the next lookup.
///
/// - `TokenFileName`: the file named after the token holds its target, `host:port` (or
///   `[v6]:port`, `v6:port`, `unix_socket:/path`), surrounding white space and newlines ignored, as
///   websockify 0.13 strips them. The token must be one file name (no `/`); 0.13 takes the last
///   path component of a token with `/` instead.
/// - `UnixDomainSocketDirectory`: the token names a unix socket in the directory (QEMU's `-vnc
///   unix:…`, x11vnc's `-unixsock`), or, as in 0.13, in a subdirectory (`vm/1.sock`); the session
///   connects to it.
///
/// A token that names nothing, or something of the wrong kind, is an unknown token (404).
public struct DirectoryTokenStore: TokenStore {
    /// Which plugin.
    public enum Kind: Sendable {
        /// `TokenFileName`: a file per token, holding its target.
        case fileName
        /// `UnixDomainSocketDirectory`: a unix socket per token.
        case unixSockets

        public var pluginName: String { self == .fileName ? "TokenFileName" : "UnixDomainSocketDirectory" }
    }

    public let directory: String
    public let kind: Kind
    private let threadPool: NIOThreadPool

    /// Largest `TokenFileName` file read: a target is one short line.
    static let maximumFileSize = 4096
    /// The longest path a unix socket address holds (`sun_path` is 108 bytes with its NUL).
    static let maximumSocketPathBytes = 107

    /// Checks that `directory` is one; a ``ProxyError`` when it is not.
    public init(directory: String, kind: Kind, threadPool: NIOThreadPool = .singleton) throws(ProxyError) {
        guard case .success(.directory) = FileKind.of(directory) else {
            throw .tokenSource(
                directory,
                why: "\(kind.pluginName) needs a directory (\(kind == .fileName ? "one file per token, named after it" : "of unix sockets"))")
        }
        self.directory = directory
        self.kind = kind
        self.threadPool = threadPool
    }

    public var summary: String { "\(kind.pluginName) \(directory)" }

    public func target(forToken token: String, on eventLoop: any EventLoop) -> EventLoopFuture<ProxyConfiguration.Target> {
        threadPool.runIfActive(eventLoop: eventLoop) { self.lookup(token) }.flatMapResult { $0.mapError { $0 as any Error } }
    }

    /// The target the token names, or the refusal. Blocks (file I/O).
    func lookup(_ token: String) -> Result<ProxyConfiguration.Target, RequestRefusal> {
        let located = TokenPath.locate(
            token, in: directory, subdirectories: kind == .unixSockets, kind: kind == .fileName ? .regular : .socket,
            store: summary)
        return located.flatMap { path in kind == .fileName ? readTarget(path, token: token) : socket(path, token: token) }
    }

    private func socket(_ path: String, token: String) -> Result<ProxyConfiguration.Target, RequestRefusal> {
        guard path.utf8.count <= Self.maximumSocketPathBytes else {
            return .failure(
                .tokenStoreAnswerUnusable(
                    "socket for token \(LogText.quoted(token)): \(path) is longer than a unix socket address holds (\(Self.maximumSocketPathBytes) bytes)"))
        }
        return .success(.unixSocket(path: path))
    }

    private func readTarget(_ path: String, token: String) -> Result<ProxyConfiguration.Target, RequestRefusal> {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return .failure(.tokenStoreUnavailable("cannot read \(path)"))
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: Self.maximumFileSize + 1) ?? Data()
        } catch {
            return .failure(.tokenStoreUnavailable("cannot read \(path): \(error)"))
        }
        let unusable = "unusable file for token \(LogText.quoted(token)): \(path)"
        guard data.count <= Self.maximumFileSize else {
            return .failure(.tokenStoreAnswerUnusable("\(unusable) is over \(Self.maximumFileSize) bytes"))
        }
        return TokenTarget.parse(String(decoding: data, as: UTF8.self)).mapError {
            .tokenStoreAnswerUnusable("\(unusable): \($0.message)")
        }
    }
}
