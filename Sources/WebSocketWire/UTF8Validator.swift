/// Checks that a byte stream is UTF-8 (RFC 3629 §4) as its pieces arrive, with no buffering.
///
/// A WebSocket endpoint must fail the connection as soon as a text message can no longer be valid
/// UTF-8, not when the message ends (RFC 6455 §8.1). So the check runs over each piece (a fragment,
/// or part of one) as it comes and carries between pieces only where it stands inside the
/// character in progress: a character cut between two pieces is fine, and memory stays constant
/// whatever the message's length.
///
/// The states are those of RFC 3629's grammar: at a character boundary, or owing 1–3 continuation
/// bytes with the range the next one must fall in. The ranges after the lead bytes E0, ED, F0 and
/// F4 are narrower than 80–BF; that is what refuses overlong forms, the surrogates U+D800–DFFF and
/// code points over U+10FFFF at the first byte that shows them. C0, C1 and F5–FF are never valid.
public struct UTF8Validator: Sendable, Equatable {
    /// Continuation bytes the character in progress still needs (0 at a character boundary).
    private var owed: UInt8 = 0
    /// The lowest value the next byte may have while `owed > 0`.
    private var lowest: UInt8 = 0x80
    /// The highest value the next byte may have while `owed > 0`.
    private var highest: UInt8 = 0xBF
    /// A byte was refused; every later byte is refused too.
    public private(set) var failed = false

    /// A validator at the start of a text.
    public init() {}

    /// True when the bytes so far end at a character boundary: the text may end here. False inside
    /// a character and after a refused byte.
    public var isAtBoundary: Bool { owed == 0 && !failed }

    /// Checks the next `bytes` of the text and returns the offset in `bytes` of the first byte that
    /// cannot continue valid UTF-8, or nil when all of them can. After a refusal the validator stays
    /// failed (later calls return 0 for any non-empty input).
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !failed else { return bytes.isEmpty ? nil : 0 }
        var index = 0
        let count = bytes.count
        while index < count {
            if owed == 0 {
                // ASCII runs, the common case, are checked a word at a time.
                while index + 8 <= count,
                    bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                guard index < count else { break }
                let byte = bytes[index]
                if byte >= 0x80, !startCharacter(byte) {
                    failed = true
                    return index
                }
            } else {
                let byte = bytes[index]
                guard byte >= lowest, byte <= highest else {
                    failed = true
                    return index
                }
                owed -= 1
                lowest = 0x80
                highest = 0xBF
            }
            index += 1
        }
        return nil
    }

    /// Takes a non-ASCII lead byte: sets how many continuation bytes follow and the range of the
    /// first one, as in RFC 3629 §4's table. False for a byte that cannot start a character.
    private mutating func startCharacter(_ byte: UInt8) -> Bool {
        let next: ClosedRange<UInt8>
        switch byte {
        case 0xC2...0xDF: (owed, next) = (1, 0x80...0xBF)
        case 0xE0: (owed, next) = (2, 0xA0...0xBF)  // below A0: an overlong 3-byte form
        case 0xE1...0xEC, 0xEE...0xEF: (owed, next) = (2, 0x80...0xBF)
        case 0xED: (owed, next) = (2, 0x80...0x9F)  // above 9F: U+D800–DFFF, the surrogates
        case 0xF0: (owed, next) = (3, 0x90...0xBF)  // below 90: an overlong 4-byte form
        case 0xF1...0xF3: (owed, next) = (3, 0x80...0xBF)
        case 0xF4: (owed, next) = (3, 0x80...0x8F)  // above 8F: over U+10FFFF
        default:
            // 80–BF: a continuation byte with no lead; C0, C1: overlong 2-byte forms; F5–FF: over
            // U+10FFFF or not UTF-8 at all.
            return false
        }
        lowest = next.lowerBound
        highest = next.upperBound
        return true
    }
}
