import NIOHTTP1
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import ServiceSupport

/// `TokenFile` and `ReadOnlyTokenFile`: tokens from a file, or a directory of files, in
/// websockify's `token: host:port` syntax (``TokenFileParser``).
///
/// `TokenFile` notices changes without a restart: each lookup `stat`s the source (the directory
/// and each file in it) and parses again only when an inode, size, mtime or ctime changed — with
/// 10,000 tokens a lookup then costs a few `stat`s, not a parse (see docs/proxy.md for figures).
/// Lookups run on a thread pool, so the event loop never waits on the disk.
/// `ReadOnlyTokenFile` reads once, at start.
public final class TokenFileStore: TokenStore {
    /// The table from one reading of the source.
    struct Snapshot: Sendable {
        var targets: [String: ProxyConfiguration.Target]
        var stamps: [FileStamp]
        var diagnostics: [TokenFileParser.Diagnostic]
    }

    public let source: String
    public let readOnly: Bool
    private let logger: Logger
    private let threadPool: NIOThreadPool
    private let current: NIOLockedValueBox<Snapshot>

    /// Reads `source` once; throws a ``ProxyError`` when it can't be read at all. Malformed lines
    /// are logged and skipped.
    public init(source: String, readOnly: Bool, logger: Logger, threadPool: NIOThreadPool = .singleton) throws(ProxyError) {
        self.source = source
        self.readOnly = readOnly
        self.logger = logger
        self.threadPool = threadPool
        let snapshot: Snapshot
        do {
            snapshot = try Self.read(source)
        } catch {
            throw ProxyError.tokenSource(source, why: "\(error)")
        }
        current = NIOLockedValueBox(snapshot)
        report(snapshot, reloaded: false)
    }

    public var summary: String { "\(readOnly ? "ReadOnlyTokenFile" : "TokenFile") \(source)" }

    /// Number of tokens in the current table.
    public var count: Int { current.withLockedValue { $0.targets.count } }

    public func target(forToken token: String, on eventLoop: any EventLoop)
        -> EventLoopFuture<ProxyConfiguration.Target>
    {
        if readOnly { return eventLoop.makeCompletedFuture(lookup(token, in: current.withLockedValue { $0 }).mapError { $0 as any Error }) }
        return threadPool.runIfActive(eventLoop: eventLoop) { () -> Result<ProxyConfiguration.Target, RequestRefusal> in
            do {
                return self.lookup(token, in: try self.refreshed())
            } catch {
                return .failure(
                    .tokenStoreUnavailable("cannot read token source \(self.source): \(error)"))
            }
        }.flatMapResult { $0.mapError { $0 as any Error } }
    }

    private func lookup(_ token: String, in snapshot: Snapshot) -> Result<ProxyConfiguration.Target, RequestRefusal> {
        guard let target = snapshot.targets[token] else { return .failure(.unknownToken(token, store: summary)) }
        return .success(target)
    }

    /// The current table, read again first if the source changed. Blocks (file I/O).
    func refreshed() throws -> Snapshot {
        let known = current.withLockedValue { $0 }
        if (try? Self.stamps(of: source, files: known.stamps.dropFirst().map(\.path))) == known.stamps {
            return known
        }
        let fresh = try Self.read(source)
        current.withLockedValue { $0 = fresh }
        report(fresh, reloaded: true)
        return fresh
    }

    private func report(_ snapshot: Snapshot, reloaded: Bool) {
        for diagnostic in snapshot.diagnostics {
            logger.warning("token file \(diagnostic.file):\(diagnostic.line): \(diagnostic.message); line skipped")
        }
        logger.info("\(reloaded ? "reloaded" : "loaded") \(snapshot.targets.count) token(s) from \(source)")
    }

    // MARK: - Reading

    /// The stamps of `source` (first) and of `files` (the files of a directory source).
    static func stamps(of source: String, files: [String]) throws -> [FileStamp] {
        try [FileStamp.of(source).stamp] + files.map { try FileStamp.of($0).stamp }
    }

    /// Reads `source`: a file, or every regular file in a directory whose name does not start
    /// with a dot, in name order (a token in a later file replaces an earlier one).
    static func read(_ source: String) throws -> Snapshot {
        let (sourceStamp, sourceKind) = try FileStamp.of(source)
        let isDirectory = sourceKind == .directory
        var files: [String] = []
        if isDirectory {
            let names = try FileManager.default.contentsOfDirectory(atPath: source)
            for name in names.sorted() where !name.hasPrefix(".") {
                let path = (source as NSString).appendingPathComponent(name)
                if (try? FileStamp.of(path).kind) == .regular { files.append(path) }
            }
        } else {
            files = [source]
        }
        var snapshot = Snapshot(targets: [:], stamps: [sourceStamp], diagnostics: [])
        var seenAt: [String: String] = [:]
        for file in files {
            let fileStamp = isDirectory ? try FileStamp.of(file).stamp : sourceStamp
            guard let data = FileManager.default.contents(atPath: file) else {
                throw TokenFileError(path: file, reason: "cannot read")
            }
            let parsed = TokenFileParser.parse(String(decoding: data, as: UTF8.self), file: file)
            for entry in parsed.entries {
                if let earlier = seenAt[entry.token] {
                    snapshot.diagnostics.append(
                        .init(file: file, line: entry.line, message: "duplicate token (also at \(earlier)); this line wins"))
                }
                seenAt[entry.token] = "\(file):\(entry.line)"
                snapshot.targets[entry.token] = entry.target
            }
            snapshot.diagnostics += parsed.diagnostics
            if isDirectory { snapshot.stamps.append(fileStamp) }
        }
        return snapshot
    }
}
