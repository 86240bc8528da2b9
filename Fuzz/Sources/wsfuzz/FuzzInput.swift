/// Reads structure from the front of a fuzz input (split points, flags, sizes), leaving the rest as
/// the data to parse: the fuzzer mutates both together.
struct FuzzInput {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    /// The next byte, or 0 when the input is used up.
    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }

    /// The next two bytes, big-endian (0 past the end).
    mutating func uint16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    /// The next byte's low bit.
    mutating func flag() -> Bool { byte() & 1 == 1 }

    /// What is left.
    var rest: [UInt8] { Array(bytes) }

    /// `data` cut at the positions `seed` picks: each two bytes a 16-bit value modulo
    /// `data.count + 1`, so any position of an input up to 64 KiB can be chosen (sorted; at most
    /// `count` cuts).
    static func cuts(of data: [UInt8], seed: [UInt8], count: Int = 8) -> [ArraySlice<UInt8>] {
        guard !data.isEmpty else { return [] }
        var positions = stride(from: 0, to: min(seed.count, 2 * count) - 1, by: 2).map {
            (Int(seed[$0]) << 8 | Int(seed[$0 + 1])) % (data.count + 1)
        }
        positions.append(data.count)
        positions.sort()
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        for end in positions where end >= start {
            pieces.append(data[start..<end])
            start = end
        }
        return pieces
    }
}
