@testable import RecordFormat

/// `RecordStreamDecoder` (RecordFormat/Codec): the `.rec` format fed in reads of any size.
///
/// Invariants: the same events (or the same fatal error) however the bytes are cut; the header,
/// blocks and damage found tile the bytes fed, in order, without gap or overlap; decoded records
/// re-encode to bytes that decode to the same records (not always to the bytes read: unknown flag
/// bits and TLV fields of newer minor versions are dropped, invalid UTF-8 in a marker is repaired);
/// an index block re-encodes to bytes that decode to the same index.
enum RecordStreamTarget {
    static let target = FuzzTarget(
        name: "record-stream",
        summary: "RecordStreamDecoder: cut-invariant, blocks+damage tile the input, records and index re-encode"
    ) { run($0) }

    /// What a decoder reported, comparable.
    enum Seen: Equatable {
        case header(FileHeader)
        case block(offset: UInt64, header: BlockHeader, content: Content)
        case damage(Damage)
        case error(String)
    }

    enum Content: Equatable {
        case records([Record])
        case index(RecordIndex)
        case trailer(UInt64, UInt64)
        case gap(RecordGap)

        init(_ content: DecodedBlock.Content) {
            switch content {
            case .records(let records): self = .records(records)
            case .index(let index): self = .index(index)
            case .trailer(let offset, let length): self = .trailer(offset, length)
            case .gap(let gap): self = .gap(gap)
            }
        }
    }

    static func decode(_ pieces: [ArraySlice<UInt8>], path: String? = nil) -> [Seen] {
        var decoder = RecordStreamDecoder(path: path)
        var seen: [Seen] = []
        do throws(RecordFormatError) {
            for piece in pieces {
                decoder.feed(Array(piece))
                while let event = try decoder.next() {
                    switch event {
                    case .header(let header): seen.append(.header(header))
                    case .block(let block): seen.append(.block(offset: block.offset, header: block.header, content: Content(block.content)))
                    case .damage(let damage): seen.append(.damage(damage))
                    }
                }
            }
            if let damage = try decoder.finish() { seen.append(.damage(damage)) }
        } catch {
            seen.append(.error("\(error)"))
        }
        return seen
    }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let seed = (0..<Int(input.byte() % 17)).map { _ in input.byte() }
        let data = input.rest
        let whole = decode([data[...]])
        FuzzCheck.require(decode(FuzzInput.cuts(of: data, seed: seed)) == whole, "events differ when the bytes are cut at \(seed)")
        guard case .header(let header)? = whole.first else { return }
        var end = UInt64(header.encodedLength)
        for seen in whole.dropFirst() {
            switch seen {
            case .header: FuzzCheck.require(false, "a second file header")
            case .block(let offset, let blockHeader, let content):
                FuzzCheck.require(offset == end, "block at \(offset), expected \(end)")
                end = offset + UInt64(blockHeader.encodedLength + blockHeader.storedLength)
                check(content, blockHeader)
            case .damage(let damage):
                FuzzCheck.require(damage.offset == end, "damage at \(damage.offset), expected \(end)")
                FuzzCheck.require(damage.length > 0, "empty damage")
                end = damage.offset + damage.length
            case .error:
                return
            }
        }
        FuzzCheck.require(end == UInt64(data.count), "events cover \(end) of \(data.count) bytes")
    }

    static func check(_ content: Content, _ header: BlockHeader) {
        switch content {
        case .records(let records):
            var encoded: [UInt8] = []
            for record in records { RecordCodec.encode(record, into: &encoded) }
            let again = encoded.withUnsafeBytes { RecordCodec.decodeAll($0, expectedCount: records.count) }
            guard case .success(let decoded) = again else {
                FuzzCheck.require(false, "re-encoded records do not decode: \(again)")
                return
            }
            FuzzCheck.require(decoded == records, "re-encoded records decode differently")
        case .index(let index):
            let encoded = index.encoded()
            let decoded = encoded.withUnsafeBytes { RecordIndex.decode($0) }
            FuzzCheck.require(decoded == index, "a re-encoded index decodes differently")
        case .trailer, .gap:
            break
        }
    }
}
