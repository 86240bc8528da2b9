import Testing
import TestSupport
import WebSocketWire

@Suite("Incremental UTF-8 validator")
struct UTF8ValidatorTests {
    /// Feeds `pieces` in turn; returns (index of the piece, offset in it) of the first refused byte,
    /// or nil, and whether the text may end there.
    func feed(_ pieces: [[UInt8]]) -> (failure: (piece: Int, offset: Int)?, atBoundary: Bool) {
        var validator = UTF8Validator()
        for (index, piece) in pieces.enumerated() {
            if let offset = piece.withUnsafeBytes({ validator.validate($0) }) {
                return ((index, offset), validator.isAtBoundary)
            }
        }
        return (nil, validator.isAtBoundary)
    }

    /// The stdlib's verdict on a whole text.
    func stdlibAccepts(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { String(validating: $0, as: UTF8.self) } != nil
    }

    /// The first byte after which `bytes` can no longer be the start of a valid UTF-8 text, worked
    /// out from the stdlib alone: a prefix can go on when it is valid, or becomes valid with 1–3
    /// continuation bytes added. Every narrowed range for the byte after a lead (A0–BF, 80–9F, 90–BF,
    /// 80–8F) holds 80, 90 or A0, and any later continuation byte may be 80.
    func stdlibFirstImpossibleByte(_ bytes: [UInt8]) -> Int? {
        let completions: [[UInt8]] =
            [[]] + [0x80, 0x90, 0xA0].flatMap { first in (0...2).map { [first] + Array(repeating: 0x80, count: $0) } }
        for end in stride(from: 1, through: bytes.count, by: 1) {
            let prefix = Array(bytes[..<end])
            if !completions.contains(where: { stdlibAccepts(prefix + $0) }) { return end - 1 }
        }
        return nil
    }

    /// The stdlib's UTF-8 for a scalar value; nil for the surrogates.
    static func encoded(_ value: UInt32) -> [UInt8]? {
        Unicode.Scalar(value).map { Array(String($0).utf8) }
    }

    @Test("every scalar is accepted, fed a byte at a time, and may end only after its last byte")
    func everyScalarByteByByte() {
        var wrong: [[UInt8]] = []
        var count = 0
        for value in UInt32(0)...0x10FFFF {
            guard let encoded = Self.encoded(value) else { continue }
            count += 1
            var validator = UTF8Validator()
            for (index, byte) in encoded.enumerated() {
                let refused = [byte].withUnsafeBytes { validator.validate($0) }
                if refused != nil || validator.isAtBoundary != (index == encoded.count - 1) {
                    wrong.append(encoded)
                    break
                }
            }
        }
        #expect(count == 0x110000 - 0x800)
        #expect(wrong.isEmpty, "first wrongly handled: \(wrong.prefix(5))")
    }

    @Test("every split of every multi-byte sequence kind, inside text, is accepted")
    func everySplitOfMultiByteSequences() {
        // The edges of every lead byte's range, 2-, 3- and 4-byte.
        let scalars: [UInt32] = [
            0x80, 0x7FF, 0x800, 0xFFF, 0x1000, 0xCFFF, 0xD000, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF,
            0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000, 0x10FFFF, 0x1F600,
        ]
        for value in scalars {
            let scalar = Unicode.Scalar(value)!
            let text = Array("a\(scalar)\(scalar)b".utf8)
            for cut in 0...text.count {
                for second in cut...text.count {
                    let pieces = [Array(text[..<cut]), Array(text[cut..<second]), Array(text[second...])]
                    let result = feed(pieces)
                    #expect(result.failure == nil && result.atBoundary, "U+\(value) cut at \(cut), \(second)")
                }
            }
            // A text that stops inside the character may not end there.
            let width = String(scalar).utf8.count
            for missing in 1..<width {
                let result = feed([Array(text[..<(1 + width - missing)])])
                #expect(result.failure == nil && !result.atBoundary, "U+\(value) without \(missing) bytes")
            }
        }
    }

    /// Invalid sequences and the offset of the first byte that shows them.
    static let invalid: [(name: String, bytes: [UInt8], at: Int)] = [
        ("lone continuation byte", [0x80], 0),
        ("continuation byte BF", [0xBF], 0),
        ("overlong 2-byte C0 (U+002F)", [0xC0, 0xAF], 0),
        ("overlong 2-byte C1", [0xC1, 0xBF], 0),
        ("overlong 3-byte E0 80 (U+002F)", [0xE0, 0x80, 0xAF], 1),
        ("overlong 3-byte E0 9F (U+07FF)", [0xE0, 0x9F, 0xBF], 1),
        ("overlong 4-byte F0 80", [0xF0, 0x80, 0x80, 0xAF], 1),
        ("overlong 4-byte F0 8F (U+FFFF)", [0xF0, 0x8F, 0xBF, 0xBF], 1),
        ("surrogate U+D800", [0xED, 0xA0, 0x80], 1),
        ("surrogate U+DBFF", [0xED, 0xAF, 0xBF], 1),
        ("surrogate U+DC00", [0xED, 0xB0, 0x80], 1),
        ("surrogate U+DFFF", [0xED, 0xBF, 0xBF], 1),
        ("surrogate pair encoded as two 3-byte forms", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80], 1),
        ("U+110000 (F4 90)", [0xF4, 0x90, 0x80, 0x80], 1),
        ("U+13FFFF (F4 BF)", [0xF4, 0xBF, 0xBF, 0xBF], 1),
        ("lead F5", [0xF5, 0x80, 0x80, 0x80], 0),
        ("lead F7 (5-byte range)", [0xF7, 0xBF, 0xBF, 0xBF], 0),
        ("lead F8 (old 5-byte form)", [0xF8, 0x88, 0x80, 0x80, 0x80], 0),
        ("lead FC (old 6-byte form)", [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], 0),
        ("FE", [0xFE], 0),
        ("FF", [0xFF], 0),
        ("2-byte sequence cut by ASCII", [0xC3, 0x41], 1),
        ("3-byte sequence cut by ASCII after 2 bytes", [0xE2, 0x82, 0x41], 2),
        ("4-byte sequence cut by ASCII after 3 bytes", [0xF0, 0x9F, 0x98, 0x41], 3),
        ("lead byte after a lead byte", [0xC3, 0xC3, 0xA9], 1),
        ("4-byte lead after 3-byte lead", [0xE2, 0xF0, 0x9F, 0x98, 0x80], 1),
        ("extra continuation byte", [0xC3, 0xA9, 0xA9], 2),
    ]

    @Test("invalid sequences are refused at their first impossible byte, however they are split")
    func invalidAtFirstImpossibleByte() {
        let before = Array("valid d\u{e9}j\u{e0} \u{20AC}\u{1F600} text ".utf8)
        for (name, sequence, at) in Self.invalid {
            #expect(stdlibFirstImpossibleByte(sequence) == at, "the case itself: \(name)")
            let text = before + sequence + Array("after".utf8)
            let bad = before.count + at
            #expect(feed([text]).failure.map { $0.offset } == bad, "\(name), whole")
            // Cut anywhere: the refusal comes in the piece holding the bad byte, at its offset there.
            for cut in 0...text.count {
                let expected = bad < cut ? (0, bad) : (1, bad - cut)
                let failure = feed([Array(text[..<cut]), Array(text[cut...])]).failure
                #expect(failure.map { [$0.piece, $0.offset] } == [expected.0, expected.1], "\(name), cut at \(cut)")
            }
        }
    }

    @Test("a text that ends inside a character may not end there")
    func truncatedAtEnd() {
        for truncated: [UInt8] in [[0xC3], [0xE2], [0xE2, 0x82], [0xF0], [0xF0, 0x9F], [0xF0, 0x9F, 0x98]] {
            let result = feed([Array("ok".utf8), truncated])
            #expect(result.failure == nil && !result.atBoundary, "\(truncated)")
            #expect(!stdlibAccepts(Array("ok".utf8) + truncated))
        }
        #expect(feed([]).atBoundary, "the empty text is valid")
    }

    @Test("a non-ASCII byte is found at every offset of a word-wide ASCII run")
    func asciiRunsAtEveryAlignment() {
        for length in 0..<40 {
            for bad: [UInt8] in [[0x80], [0xFF], [0xC0, 0x80]] {
                let text = Array(repeating: UInt8(ascii: "x"), count: length) + bad + Array(repeating: 0x41, count: 20)
                #expect(feed([text]).failure.map { $0.offset } == length, "\(length) ASCII bytes, then \(bad)")
            }
            let valid =
                Array(repeating: UInt8(ascii: "x"), count: length) + Array("\u{1F600}".utf8)
                + Array(repeating: 0x7F, count: 17)
            let result = feed([valid])
            #expect(result.failure == nil && result.atBoundary, "\(length) ASCII bytes, then U+1F600")
        }
    }

    @Test("after a refusal every later byte is refused too")
    func staysFailed() {
        var validator = UTF8Validator()
        #expect(([0x41, 0xFF] as [UInt8]).withUnsafeBytes { validator.validate($0) } == 1)
        #expect(validator.failed && !validator.isAtBoundary)
        #expect(([0x41] as [UInt8]).withUnsafeBytes { validator.validate($0) } == 0)
        #expect([UInt8]().withUnsafeBytes { validator.validate($0) } == nil)
        #expect(!validator.isAtBoundary)
    }

    /// Random bytes drawn mostly from the interesting ones: whole characters, lead bytes, the edges
    /// of the continuation ranges, ASCII; and now and then anything.
    func randomText(_ rng: inout SplitMix) -> [UInt8] {
        let special: [UInt8] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED,
            0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ]
        var out: [UInt8] = []
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                // A character of a random width (a surrogate value gives its invalid 3-byte form).
                let widths: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xFFFF, 0x10000...0x10FFFF]
                let range = widths[Int.random(in: 0..<4, using: &rng)]
                out += Self.encoded(UInt32.random(in: range, using: &rng)) ?? [0xED, 0xA0, 0x80]
            case 1: out.append(special[Int.random(in: 0..<special.count, using: &rng)])
            case 2: out.append(UInt8.random(in: 0x80...0xBF, using: &rng))
            default: out.append(UInt8.random(in: 0...255, using: &rng))
            }
        }
        return out
    }

    @Test("agrees with the stdlib on random byte strings, whole and cut into random pieces")
    func agreesWithStdlib() {
        var rng = SplitMix(state: 12)
        var accepted = 0
        for round in 0..<20_000 {
            let text = randomText(&rng)
            let whole = feed([text])
            let valid = whole.failure == nil && whole.atBoundary
            #expect(valid == stdlibAccepts(text), "round \(round): \(text)")
            if valid { accepted += 1 }
            if round % 10 == 0 {
                #expect(whole.failure.map { $0.offset } == stdlibFirstImpossibleByte(text), "round \(round): \(text)")
            }
            // The same verdict and offset when cut into pieces at random places.
            var pieces: [[UInt8]] = []
            var rest = text[...]
            while !rest.isEmpty {
                let size = Int.random(in: 0...min(4, rest.count), using: &rng)
                pieces.append(Array(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            let cut = feed(pieces)
            let offset = cut.failure.map { failure in
                pieces[..<failure.piece].reduce(0) { $0 + $1.count } + failure.offset
            }
            #expect(offset == whole.failure?.offset && cut.atBoundary == whole.atBoundary, "round \(round): \(pieces)")
        }
        // The generator must reach both verdicts often, or the comparison shows little.
        #expect(accepted > 2_000 && accepted < 18_000, "\(accepted) valid")
    }
}
