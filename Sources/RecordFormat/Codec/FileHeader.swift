/// The fixed start of every recording file (see docs/record-format.md §2).
public struct FileHeader: Sendable, Equatable {
    /// `0x89 'W' 'S' 'R' 'E' 'C' 0x0D 0x0A`: a non-ASCII first byte and a CR LF catch text-mode damage.
    public static let magic: [UInt8] = [0x89, 0x57, 0x53, 0x52, 0x45, 0x43, 0x0D, 0x0A]
    /// The major version this library writes and reads; readers refuse other majors.
    public static let currentMajor: UInt16 = 1
    /// The minor version this library writes; readers accept any minor of their major.
    public static let currentMinor: UInt16 = 4
    /// Smallest possible header: fixed part, two empty strings and the CRC.
    static let minimumLength = 32

    public var major: UInt16
    public var minor: UInt16
    /// Creation time, microseconds since the Unix epoch (UTC).
    public var createdWallMicros: Int64
    public var producerName: String
    public var producerVersion: String
    /// Bytes the header occupies in the file (blocks start right after).
    public private(set) var encodedLength: Int = 0

    public init(createdWallMicros: Int64, producerName: String, producerVersion: String) {
        self.major = Self.currentMajor
        self.minor = Self.currentMinor
        self.createdWallMicros = createdWallMicros
        self.producerName = producerName
        self.producerVersion = producerVersion
    }

    /// The header's bytes, ending with their CRC-32.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: Self.magic)
        out.appendLE(major)
        out.appendLE(minor)
        out.appendLE(UInt16(0))  // header length, patched below
        out.appendLE(UInt16(0))  // flags, none defined
        out.appendLE(createdWallMicros)
        out.appendShortString(producerName, limit: 1024)
        out.appendShortString(producerVersion, limit: 1024)
        out.storeLE(UInt16(out.count + 4), at: 12)
        out.appendLE(out.withUnsafeBytes { crc32Of($0) })
        return out
    }

    enum ParseResult {
        case needMore(Int)
        case header(FileHeader)
        case failure(RecordFormatError)
    }

    /// Parses a header from the start of `bytes`.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard bytes.count >= 16 else {
            if !Self.magic.starts(with: bytes.prefix(8)) { return .failure(notRecording(bytes)) }
            return .needMore(16)
        }
        guard Self.magic.elementsEqual(bytes.prefix(8)) else { return .failure(notRecording(bytes)) }
        let major: UInt16 = loadLE(bytes, 8, as: UInt16.self)
        let minor: UInt16 = loadLE(bytes, 10, as: UInt16.self)
        let declared = Int(loadLE(bytes, 12, as: UInt16.self))
        if declared >= minimumLength, bytes.count < declared { return .needMore(declared) }
        let headerIntact =
            declared >= minimumLength
            && loadLE(bytes, declared - 4, as: UInt32.self)
                == crc32Of(UnsafeRawBufferPointer(rebasing: bytes[0..<declared - 4]))
        guard major == Self.currentMajor || !headerIntact else {
            return .failure(
                .init(
                    .unsupportedVersion,
                    "format version \(major).\(minor) is not supported: this reader knows major version "
                        + "\(Self.currentMajor); use a newer wsrecord-inspect", offset: 8))
        }
        let length = Int(loadLE(bytes, 12, as: UInt16.self))
        guard length >= minimumLength else {
            return .failure(.init(.corruptHeader, "file header length \(length) is too small", offset: 12))
        }
        guard bytes.count >= length else { return .needMore(length) }
        let stored = loadLE(bytes, length - 4, as: UInt32.self)
        let computed = crc32Of(UnsafeRawBufferPointer(rebasing: bytes[0..<length - 4]))
        guard stored == computed else {
            return .failure(
                .init(
                    .corruptHeader,
                    "file header CRC-32 mismatch (stored \(hex32(stored)), computed \(hex32(computed)))",
                    offset: UInt64(length - 4)))
        }
        var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: bytes[0..<length - 4]), position: 16)
        guard let created = cursor.read(Int64.self), let name = cursor.readShortString(),
            let version = cursor.readShortString()
        else {
            return .failure(.init(.corruptHeader, "file header fields overrun its declared length", offset: 16))
        }
        var header = FileHeader(createdWallMicros: created, producerName: name, producerVersion: version)
        header.major = major
        header.minor = minor
        header.encodedLength = length
        return .header(header)
    }

    private static func notRecording(_ bytes: UnsafeRawBufferPointer) -> RecordFormatError {
        let looksLegacy = bytes.starts(with: Array("var VNC_frame_data".utf8))
        return .init(
            .notARecording,
            looksLegacy
                ? "this is a legacy Python websockify recording; convert it with `wsrecord-inspect convert`"
                : "not a websockify-swift recording (bad magic)", offset: 0)
    }
}

func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
