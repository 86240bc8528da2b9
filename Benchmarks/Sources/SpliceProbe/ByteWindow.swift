import Glibc

/// The unread bytes of a fixed buffer: `bytes` is what has been read and not consumed; `fill` reads
/// more behind it, moving the unread bytes to the front first when the end is reached.
struct ByteWindow {
    let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0

    init(buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    var count: Int { end - start }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[start..<end]) }

    func mutableBytes(_ count: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + count)])
    }

    mutating func consume(_ count: Int) {
        precondition(count <= self.count, "consumed more than was read")
        start += count
        if start == end { start = 0; end = 0 }
    }

    mutating func append(_ bytes: [UInt8]) {
        precondition(bytes.count <= buffer.count - end, "leftover larger than the buffer")
        bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[end...]).copyMemory(from: $0) }
        end += bytes.count
    }

    /// Reads what the socket has; false at its end of stream.
    mutating func fill(from fd: Int32) throws -> Bool {
        if end == buffer.count {
            let unread = count
            if start > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: unread)
            }
            start = 0
            end = unread
        }
        precondition(end < buffer.count, "a header larger than the buffer")
        let n = try ProbeSocket.readSome(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        end += n
        return n > 0
    }
}
