import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The keyframe cache file of a recording (docs/wsrecord-inspect.md, "render"): keyframes of one or
/// more sessions, tied to the recording by its device, inode, size and modification time. A cache
/// that does not match the recording as it is now (appended to, replaced, edited) or that does not
/// read back whole (magic, version, lengths, CRC-32) is not used; it is rebuilt and replaced
/// atomically (temporary file + rename). Each snapshot in it is checked again by the decoder when
/// it is used.
///
/// Layout, big-endian: `WSKEYFR\n`, U16 version, the identity (U64 device, U64 inode, U64 size,
/// I64 mtime seconds, I64 mtime nanoseconds), U32 sessions; per session U32 number, U64 interval
/// (µs), U32 keyframes; per keyframe U64 reached time (µs), U64 ordinal, U8 position kind (0 block,
/// 1 legacy), U64 block offset or legacy index, U64 index in block, U8 frozen, U32 length and the
/// snapshot bytes; then a CRC-32 of everything before it.
struct KeyframeCache {
    static let magic = Array("WSKEYFR\n".utf8)
    static let version: UInt16 = 1
    /// Larger cache files are not read (a 30-minute session's are a few MiB).
    static let maximumSize = 1 << 30

    /// What ties a cache to a recording as it is.
    struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: UInt64
        var seconds: Int64
        var nanoseconds: Int64

        /// The recording's identity now; nil when it cannot be looked at.
        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = UInt64(info.st_size)
            seconds = Int64(info.st_mtim.tv_sec)
            nanoseconds = Int64(info.st_mtim.tv_nsec)
        }

        init(device: UInt64, inode: UInt64, size: UInt64, seconds: Int64, nanoseconds: Int64) {
            (self.device, self.inode, self.size, self.seconds, self.nanoseconds) = (device, inode, size, seconds, nanoseconds)
        }
    }

    struct Track: Equatable {
        var intervalMicros: UInt64
        var keyframes: [Keyframe]
    }

    var identity: Identity
    var sessions: [UInt32: Track] = [:]

    /// Why a cache file was not used.
    enum Refusal: Error, Equatable {
        /// It belongs to the recording as it was before (appended to, replaced).
        case stale
        /// It does not read back whole.
        case damaged(String)
        /// It is not a regular file (a FIFO, a device, a directory): neither read nor replaced.
        case notAFile
    }

    /// The cache file's path for `recording`.
    static func path(for recording: String, in cache: KeyframeOptions.Cache) -> String? {
        switch cache {
        case .none: return nil
        case .sidecar: return recording + ".keyframes"
        case .directory(let directory):
            // Named after the recording, and a hash of its full path so that two recordings of
            // the same name in different directories do not share one.
            var full = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let absolute =
                realpath(recording, &full) != nil
                ? String(decoding: full.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : recording
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in absolute.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            let name = absolute.split(separator: "/").last.map(String.init) ?? "recording"
            let hex = String(hash, radix: 16)
            return "\(directory)/\(name).\(String(repeating: "0", count: 16 - hex.count) + hex).keyframes"
        }
    }

    /// Reads the cache at `path` for the recording whose identity is `identity`. Nil when there is
    /// no file.
    static func load(path: String, identity: Identity) throws(Refusal) -> KeyframeCache? {
        guard let bytes = try readFile(path) else { return nil }
        let cache = try decode(bytes)
        guard cache.identity == identity else { throw .stale }
        return cache
    }

    /// The cache as bytes.
    func encoded() -> [UInt8] {
        var out = Self.magic
        func u8(_ v: UInt8) { out.append(v) }
        func u16(_ v: UInt16) { out += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func u32(_ v: UInt32) { for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
        func u64(_ v: UInt64) { for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) } }
        u16(Self.version)
        u64(identity.device)
        u64(identity.inode)
        u64(identity.size)
        u64(UInt64(bitPattern: identity.seconds))
        u64(UInt64(bitPattern: identity.nanoseconds))
        u32(UInt32(sessions.count))
        for (number, track) in sessions.sorted(by: { $0.key < $1.key }) {
            u32(number)
            u64(track.intervalMicros)
            u32(UInt32(track.keyframes.count))
            for keyframe in track.keyframes {
                u64(keyframe.reachedMicros)
                u64(keyframe.ordinal)
                switch keyframe.position {
                case .block(let offset, let index):
                    u8(0)
                    u64(offset)
                    u64(UInt64(index))
                case .legacy(let index):
                    u8(1)
                    u64(UInt64(index))
                    u64(0)
                }
                u8(keyframe.frozen ? 1 : 0)
                u32(UInt32(keyframe.snapshot.count))
                out += keyframe.snapshot
            }
        }
        u32(Self.crc(out[...]))
        return out
    }

    /// Reads ``encoded()``'s bytes back, checking everything but the snapshots' insides.
    static func decode(_ bytes: [UInt8]) throws(Refusal) -> KeyframeCache {
        var at = 0
        func need(_ n: Int, _ what: String) throws(Refusal) {
            guard n >= 0, at + n <= bytes.count - 4 else { throw .damaged("it ends inside \(what) at byte \(at)") }
        }
        func read(_ n: Int, _ what: String) throws(Refusal) -> UInt64 {
            try need(n, what)
            defer { at += n }
            return bytes[at..<at + n].reduce(0) { $0 << 8 | UInt64($1) }
        }
        guard bytes.count >= magic.count + 6, Array(bytes[0..<magic.count]) == magic else {
            throw .damaged("it is not a keyframe cache (no WSKEYFR magic)")
        }
        let stored = bytes[(bytes.count - 4)...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard stored == crc(bytes[..<(bytes.count - 4)]) else { throw .damaged("its checksum does not match") }
        at = magic.count
        let version = try read(2, "the version")
        guard version == UInt64(Self.version) else { throw .damaged("format version \(version), not \(Self.version)") }
        let identity = Identity(
            device: try read(8, "the identity"), inode: try read(8, "the identity"), size: try read(8, "the identity"),
            seconds: Int64(bitPattern: try read(8, "the identity")),
            nanoseconds: Int64(bitPattern: try read(8, "the identity")))
        var cache = KeyframeCache(identity: identity)
        let sessionCount = try read(4, "the session count")
        for _ in 0..<sessionCount {
            let number = UInt32(try read(4, "a session"))
            let interval = try read(8, "a session")
            let count = try read(4, "a session")
            var keyframes: [Keyframe] = []
            for _ in 0..<count {
                let reached = try read(8, "a keyframe")
                let ordinal = try read(8, "a keyframe")
                let kind = try read(1, "a keyframe")
                let first = try read(8, "a keyframe")
                let second = try read(8, "a keyframe")
                let frozen = try read(1, "a keyframe")
                let length = Int(try read(4, "a keyframe"))
                try need(length, "a snapshot")
                guard kind <= 1, frozen <= 1, first <= UInt64(Int.max), second <= UInt64(Int.max) else {
                    throw .damaged("a keyframe's fields are out of range at byte \(at)")
                }
                guard keyframes.last.map({ $0.ordinal < ordinal && $0.reachedMicros <= reached }) ?? true else {
                    throw .damaged("its keyframes are out of order at byte \(at)")
                }
                let position: SessionRecords.Position =
                    kind == 0 ? .block(offset: first, index: Int(second)) : .legacy(Int(first))
                keyframes.append(
                    Keyframe(reachedMicros: reached, ordinal: ordinal, position: position, frozen: frozen == 1,
                             snapshot: Array(bytes[at..<at + length])))
                at += length
            }
            cache.sessions[number] = Track(intervalMicros: interval, keyframes: keyframes)
        }
        guard at == bytes.count - 4 else { throw .damaged("\(bytes.count - 4 - at) bytes follow its last session") }
        return cache
    }

    private static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
    }

    /// The whole file, or nil when there is none (or it cannot be read, or is too large).
    private static func readFile(_ path: String) throws(Refusal) -> [UInt8]? {
        // Without waiting: opening a FIFO to read waits for a writer.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notAFile }
        guard info.st_size >= 0, info.st_size <= maximumSize else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return bytes
    }
}
