/// The unparsed bytes of one direction, with their stream offset. Bytes a parser does not look
/// at (pixel data) are skipped as they arrive instead of being stored, so a 2 MB Raw rectangle
/// costs no buffer.
struct RFBByteQueue: Sendable {
    private var storage: [UInt8] = []
    private var head = 0
    /// Stream offset of the first unread byte.
    private(set) var offset: UInt64 = 0
    /// Bytes still to drop as they arrive.
    private(set) var pendingSkip: UInt64 = 0

    init() {}

    /// An empty queue whose next byte is at `offset` in the stream (a parser resumed there).
    init(offset: UInt64) { self.offset = offset }

    /// Bytes buffered and not yet read.
    var count: Int { storage.count - head }

    /// Whether a skip is still waiting for bytes: nothing after it can be read yet.
    var isSkipping: Bool { pendingSkip > 0 }

    mutating func append(_ bytes: some Collection<UInt8>) {
        guard pendingSkip > 0 else {
            storage.append(contentsOf: bytes)
            return
        }
        let dropped = min(UInt64(bytes.count), pendingSkip)
        pendingSkip -= dropped
        advance(dropped)
        storage.append(contentsOf: bytes.dropFirst(Int(dropped)))
    }

    subscript(_ index: Int) -> UInt8 { storage[head + index] }

    func u16(_ index: Int) -> UInt16 { UInt16(self[index]) << 8 | UInt16(self[index + 1]) }

    func u32(_ index: Int) -> UInt32 { UInt32(u16(index)) << 16 | UInt32(u16(index + 2)) }

    /// `count` bytes from `index`, copied.
    func bytes(_ index: Int, _ count: Int) -> [UInt8] { Array(storage[(head + index)..<(head + index + count)]) }

    /// Marks `count` buffered bytes read.
    mutating func consume(_ count: Int) {
        precondition(count <= self.count, "consuming more than is buffered")
        head += count
        advance(UInt64(count))
        if head >= 1 << 14 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    /// Moves ``offset`` on by `count`, stopping at the largest offset: a parser resumed at a
    /// (hand-made) offset near 2^64 must not trap; its offsets only stop growing.
    private mutating func advance(_ count: UInt64) {
        let (sum, overflow) = offset.addingReportingOverflow(count)
        offset = overflow ? .max : sum
    }

    /// Drops `count` bytes: those buffered now, the rest as they arrive.
    mutating func skip(_ count: UInt64) {
        let now = Int(min(UInt64(self.count), count))
        consume(now)
        pendingSkip = count - UInt64(now)
    }

    /// Forgets everything buffered (a direction that is no longer followed).
    mutating func discardAll() {
        advance(UInt64(count))
        storage = []
        head = 0
    }
}
