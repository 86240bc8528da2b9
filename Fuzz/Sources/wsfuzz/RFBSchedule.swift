import RFB

/// An RFB session as a fuzz input: the bytes each side sent, in the order they were read.
///
/// Layout, repeated: one byte `h` (bit 0: 0 client, 1 server; `h >> 1`: the length, 127 meaning a
/// 16-bit big-endian length follows), then that many bytes. A short last feed takes what is left.
/// `wsfuzz --seed-rfb` writes recorded sessions in this layout (Fuzz/Corpus/rfb-*).
struct RFBSchedule {
    var feeds: [(direction: RFBDirection, bytes: [UInt8])]

    init(feeds: [(direction: RFBDirection, bytes: [UInt8])]) { self.feeds = feeds }

    init(_ input: inout FuzzInput) {
        feeds = []
        var rest = input.rest[...]
        while let h = rest.popFirst() {
            var length = Int(h >> 1)
            if length == 127 {
                let high = rest.popFirst() ?? 0
                let low = rest.popFirst() ?? 0
                length = Int(high) << 8 | Int(low)
            }
            let bytes = Array(rest.prefix(length))
            rest = rest.dropFirst(bytes.count)
            feeds.append((h & 1 == 0 ? .clientToServer : .serverToClient, bytes))
        }
    }

    /// The layout above.
    var encoded: [UInt8] {
        var out: [UInt8] = []
        for feed in feeds {
            var start = 0
            repeat {
                let count = min(feed.bytes.count - start, 0xFFFF)
                let side: UInt8 = feed.direction == .clientToServer ? 0 : 1
                if count < 127 {
                    out.append(UInt8(count) << 1 | side)
                } else {
                    out += [127 << 1 | side, UInt8(count >> 8), UInt8(count & 0xFF)]
                }
                out += feed.bytes[start..<start + count]
                start += count
            } while start < feed.bytes.count
        }
        return out
    }

    /// The same feeds with each cut in two at a point `seed` picks (a different point for each feed).
    func recut(_ seed: UInt8) -> [(direction: RFBDirection, bytes: ArraySlice<UInt8>)] {
        var out: [(direction: RFBDirection, bytes: ArraySlice<UInt8>)] = []
        for (index, feed) in feeds.enumerated() {
            let at = (Int(seed) &+ index &* 37) % (feed.bytes.count + 1)
            out.append((feed.direction, feed.bytes[..<at]))
            out.append((feed.direction, feed.bytes[at...]))
        }
        return out
    }
}
