import BenchDeflate

#if canImport(Glibc)
import Glibc
#endif

/// The cheapest recorder there can be, the yardstick for the real one (issue 18 §3): the same
/// payload bytes written to the same kind of file (space reserved ahead in 8 MiB steps with
/// `fallocate`, positioned writes, `fsync` only at the end and not timed) in blocks of the same
/// size, each with the recorder's block header and 20-byte record headers, and the same CRC-32
/// (libdeflate's) over what is stored — and nothing else: no queue, no thread, no index.
/// `scripts/bench-proxy` runs it in the same run as the proxy's recording runs and prints the
/// recorder's extra CPU per GB against it.
///
/// The ways of writing compared (`--writing`):
/// - `vectored`: the CRC over the pieces, then one `pwritev` of the header and the pieces (what
///   `RecordFileWriter` does: payloads are referenced, never copied);
/// - `copied`: the pieces copied into one buffer, the CRC of each piece taken right after its copy
///   while it is in cache, one `pwrite`;
/// - `direct`: as `copied`, into a 4 KiB-aligned buffer, the file opened with `O_DIRECT` (each
///   block padded to 4 KiB, which a real writer would have to carry over instead).
struct RecordingFloor {
    enum Payload: String { case random, zeros, rfb }
    enum Compression: String { case none, zlib, libdeflate }
    enum Writing: String { case vectored, copied, direct }

    var megabytes: Int
    var directory: String
    var payload: Payload
    /// The recorder's `blockSizeBound`: a block is sealed once its raw bytes reach it.
    var blockSize = 1 << 20
    /// Payload bytes per frame (the proxy bench's target writes 64 KiB chunks).
    var frameSize = 65_536
    /// What the recorder would do to a block of this payload: random payloads are stored (they look
    /// incompressible), others deflated at level 1.
    var compression = Compression.none
    var writing = Writing.vectored
    /// Size of the pool of frames cycled through: 8 MiB stays in the CPU's cache, much more does not.
    var poolMegabytes = 8

    struct Figures {
        var seconds: Double
        /// CPU time of this process (user + system) in the write loop.
        var cpuSeconds: Double
        var fileBytes: UInt64
        var blocks: Int
    }

    static let headerLength = 48 + 4  // one session listed
    static let recordHeaderLength = 20
    static let reservationStep = 8 << 20
    static let alignment = 4096

    /// The frames to cycle through (``poolMegabytes``).
    private func makePool() -> (base: UnsafeMutableRawPointer, count: Int) {
        var rng = SplitMix(state: 7)
        let count = max(1, (poolMegabytes << 20) / frameSize)
        let base = UnsafeMutableRawPointer.allocate(byteCount: count * frameSize, alignment: 64)
        var bytes: [UInt8]
        switch payload {
        case .random: bytes = randomBytes(count * frameSize, &rng)
        case .zeros: bytes = [UInt8](repeating: 0, count: count * frameSize)
        case .rfb:
            // RecordBench's noVNC-like traffic (raw rectangles, compressed ones, client messages), end to end.
            bytes = []
            bytes.reserveCapacity(count * frameSize)
            while bytes.count < count * frameSize {
                for (_, frame) in rfbLikeFrames(&rng) where bytes.count < count * frameSize {
                    bytes += frame.prefix(count * frameSize - bytes.count)
                }
            }
        }
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return (base, count)
    }

    func run() -> Figures {
        let pool = makePool()
        defer { pool.base.deallocate() }
        let path = "\(directory)/recordfloor-\(getpid()).bin"
        unlink(path)
        let flags = O_WRONLY | O_CREAT | O_TRUNC | (writing == .direct ? bench_o_direct() : 0)
        let fd = open(path, flags, 0o600)
        precondition(fd >= 0, "cannot open \(path): \(String(cString: strerror(errno)))")
        defer {
            close(fd)
            unlink(path)
        }
        let header = Self.headerLength
        // A record header before each frame, the block header before the block.
        let recordHeader = UnsafeMutableRawPointer.allocate(byteCount: Self.recordHeaderLength, alignment: 8)
        recordHeader.initializeMemory(as: UInt8.self, repeating: 0x11, count: Self.recordHeaderLength)
        defer { recordHeader.deallocate() }
        let blockHeader = UnsafeMutableRawPointer.allocate(byteCount: header, alignment: 8)
        blockHeader.initializeMemory(as: UInt8.self, repeating: 0x22, count: header)
        defer { blockHeader.deallocate() }
        // Copies and deflated bytes go after room for the block header, which is put in front of
        // them for a single write.
        let capacity = header + blockSize + (blockSize / frameSize + 2) * Self.recordHeaderLength + frameSize
            + 2 * Self.alignment
        let contiguous = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.alignment)
        defer { contiguous.deallocate() }
        let deflated = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.alignment)
        defer { deflated.deallocate() }
        var stream = z_stream()
        if compression == .zlib { precondition(bench_deflate_init(&stream, 1) == Z_OK) }
        defer { if compression == .zlib { deflateEnd(&stream) } }
        let compressor = compression == .libdeflate ? libdeflate_alloc_compressor(1) : nil
        defer { if let compressor { libdeflate_free_compressor(compressor) } }

        let total = megabytes << 20
        var written = 0
        var offset: off_t = 0
        var reserved: off_t = 0
        var next = 0
        var blocks = 0
        var pieces: [UnsafeRawBufferPointer] = []
        var vectors: [iovec] = []
        let start = monotonicSeconds()
        let cpuStart = processCPUSeconds()
        while written < total {
            // The frames of one block, a record header before each.
            pieces.removeAll(keepingCapacity: true)
            var raw = 0
            while raw < blockSize {
                pieces.append(UnsafeRawBufferPointer(start: recordHeader, count: Self.recordHeaderLength))
                pieces.append(UnsafeRawBufferPointer(start: pool.base + (next % pool.count) * frameSize, count: frameSize))
                next += 1
                raw += Self.recordHeaderLength + frameSize
                written += frameSize
            }
            // What is stored, with `header` bytes of room before it (nil: the pieces themselves).
            var stored: UnsafeMutableRawBufferPointer?
            var crc: UInt32 = 0
            switch (compression, writing) {
            case (.none, .vectored):
                for piece in pieces { crc = UInt32(libdeflate_crc32(crc, piece.baseAddress, piece.count)) }
            case (.none, _):
                var at = header
                for piece in pieces {
                    let target = contiguous + at
                    target.copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                    crc = UInt32(libdeflate_crc32(crc, target, piece.count))
                    at += piece.count
                }
                stored = UnsafeMutableRawBufferPointer(start: contiguous + header, count: at - header)
            case (.zlib, _):
                // As the recorder does it: one call over the block made contiguous (streaming the
                // pieces through deflate instead measured the same within the noise, 1.3-1.4 CPU-s/GB).
                var at = 0
                for piece in pieces {
                    (contiguous + at).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                    at += piece.count
                }
                deflateReset(&stream)
                stream.next_in = contiguous.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(at)
                stream.next_out = (deflated + header).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(capacity - header)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate failed: \(status)")
                stored = UnsafeMutableRawBufferPointer(start: deflated + header, count: Int(stream.total_out))
                crc = UInt32(libdeflate_crc32(0, deflated + header, Int(stream.total_out)))
            case (.libdeflate, _):
                var at = 0
                for piece in pieces {
                    (contiguous + at).copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                    at += piece.count
                }
                let length = libdeflate_deflate_compress(compressor, contiguous, at, deflated + header, capacity - header)
                precondition(length > 0, "libdeflate could not compress a block")
                stored = UnsafeMutableRawBufferPointer(start: deflated + header, count: length)
                crc = UInt32(libdeflate_crc32(0, deflated + header, length))
            }
            blockHeader.storeBytes(of: crc, toByteOffset: 40, as: UInt32.self)
            var length = header + (stored?.count ?? raw)
            if writing == .direct { length = (length + Self.alignment - 1) / Self.alignment * Self.alignment }
            if offset + off_t(length) > reserved {
                let step = off_t(Self.reservationStep)
                let end = (offset + off_t(length) + step - 1) / step * step
                _ = bench_reserve(fd, Int64(reserved), Int64(end - reserved))
                reserved = end
            }
            let result: Int
            if writing == .vectored {
                vectors.removeAll(keepingCapacity: true)
                vectors.append(iovec(iov_base: blockHeader, iov_len: header))
                for part in stored.map({ [UnsafeRawBufferPointer($0)] }) ?? pieces {
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: part.baseAddress), iov_len: part.count))
                }
                result = pwritev(fd, vectors, Int32(vectors.count), offset)
            } else {
                let base = stored!.baseAddress! - header
                base.copyMemory(from: blockHeader, byteCount: header)
                result = pwrite(fd, base, length, offset)
            }
            precondition(result == length, "write failed: \(String(cString: strerror(errno)))")
            offset += off_t(length)
            blocks += 1
        }
        let cpu = processCPUSeconds() - cpuStart
        let seconds = monotonicSeconds() - start
        fsync(fd)
        return Figures(seconds: seconds, cpuSeconds: cpu, fileBytes: UInt64(offset), blocks: blocks)
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// User plus system CPU time of this process.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
