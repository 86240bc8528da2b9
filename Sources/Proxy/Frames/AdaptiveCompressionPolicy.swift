import RecordFormat

/// Decides, message by message, whether compressing target bytes for the client is worth it.
///
/// - Messages under ``minimumSize`` go uncompressed: the gain is a few bytes at best.
/// - Messages of 4 KiB and more are sampled first (the order-0 entropy of a few spread-out
///   samples, as the recorder does for its blocks): data that looks random (Tight's zlib and JPEG
///   rectangles, TLS, already compressed files) goes uncompressed without paying for deflate,
///   which is slowest on exactly such data.
/// - A miss is a message that shrank by less than ``worthwhileRatio``, or one the sample found
///   random. After ``missesBeforeBackoff`` misses in a row the next ``backoff`` messages skip
///   compression, and the sample too; the backoff doubles each time it is needed again (up to
///   ``maximumBackoff``) and resets as soon as a message compresses well. So a session whose data
///   does not compress stops paying for it, even for the sample (a quarter of a 64 KiB message is
///   read for it), and one whose data changes (a terminal that starts a file transfer) is tried
///   again.
struct AdaptiveCompressionPolicy {
    static let minimumSize = 64
    static let worthwhileRatio = 0.9
    static let missesBeforeBackoff = 4
    static let initialBackoff = 16
    static let maximumBackoff = 1024

    private var misses = 0
    private var backoff = initialBackoff
    private var skipping = 0

    /// Whether to compress a message of these bytes.
    mutating func shouldCompress(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= Self.minimumSize else { return false }
        if skipping > 0 {
            skipping -= 1
            return false
        }
        guard !looksIncompressible(bytes) else {
            missed()
            return false
        }
        return true
    }

    /// A message of `original` bytes was compressed to `compressed` bytes.
    mutating func compressed(from original: Int, to compressed: Int) {
        guard Double(compressed) > Double(original) * Self.worthwhileRatio else {
            misses = 0
            backoff = Self.initialBackoff
            return
        }
        missed()
    }

    private mutating func missed() {
        misses += 1
        guard misses >= Self.missesBeforeBackoff else { return }
        misses = 0
        skipping = backoff
        backoff = min(backoff * 2, Self.maximumBackoff)
    }
}
