/// How a ``RecordFileWriter`` groups, compresses and syncs blocks.
public struct RecordWriterConfiguration: Sendable {
    /// Seal the open block once its uncompressed records reach this many bytes. 1 MiB keeps
    /// deflate efficient while bounding what a crash can lose and what a reader must hold.
    public var blockSizeBound: Int
    /// Seal the open block at least this often (nanoseconds), so a killed writer loses at most
    /// about this much time. Default one second.
    public var sealIntervalNanos: UInt64
    /// zlib level for deflated blocks; 1 is fastest and still shrinks protocol traffic well.
    public var compressionLevel: Int32
    /// Set false to store every block uncompressed.
    public var compress: Bool
    /// `fdatasync` after every sealed block. Off by default: the page cache survives a killed
    /// process, and a machine crash costs at most the blocks since the last sync.
    public var syncEveryBlock: Bool
    /// `fsync` when the file is closed.
    public var syncOnClose: Bool
    /// Permission bits of a file the writer creates, set exactly (whatever the umask). 0600 by
    /// default: a recording holds what was typed into the session, passwords included unless
    /// redacted, so only its owner may read it. A file that exists already keeps its mode.
    public var fileMode: UInt32
    /// Disk space is reserved ahead of the file's end in steps of this many bytes (nil: 8 MiB).
    /// Smaller for the many small files of a per-session recording, whose reservations would
    /// otherwise add up to 8 MiB per open session.
    public var reservationStep: UInt64? = nil
    /// Written into the file header of new files.
    public var producerName: String
    public var producerVersion: String

    public init(
        blockSizeBound: Int = 1 << 20, sealIntervalNanos: UInt64 = 1_000_000_000, compressionLevel: Int32 = 1,
        compress: Bool = true, syncEveryBlock: Bool = false, syncOnClose: Bool = true, fileMode: UInt32 = 0o600,
        producerName: String = "websockify-swift", producerVersion: String = RecordFormatVersion.producerVersion
    ) {
        self.blockSizeBound = blockSizeBound
        self.sealIntervalNanos = sealIntervalNanos
        self.compressionLevel = compressionLevel
        self.compress = compress
        self.syncEveryBlock = syncEveryBlock
        self.syncOnClose = syncOnClose
        self.fileMode = fileMode
        self.producerName = producerName
        self.producerVersion = producerVersion
    }
}

/// Versions of this implementation.
public enum RecordFormatVersion {
    /// The version of the tools that write recordings (the package's version).
    public static let producerVersion = "0.1.0"
}
