import RecordFormat

extension RecordStats {
    /// The statistics of several recordings as one (``RecordMerge`` by time): a session that spans
    /// files (a rotated recording) is one session, its frames and bytes counted once each. Block
    /// figures are left out (they describe one file's layout). With one path, ``compute(path:progress:)``.
    public static func compute(paths: [String], progress: ProgressCallback? = nil) throws(RecordFormatError)
        -> RecordStats
    {
        guard paths.count > 1 else {
            return try compute(path: paths.first ?? "", progress: progress)
        }
        let merge = try RecordMerge(inputs: paths, byTime: true)
        var accumulator = RecordStatsAccumulator(path: paths.joined(separator: ", "), format: .native)
        var bytes: UInt64 = 0
        for path in paths { bytes += try SystemFile.size(path: path) }
        while let entry = try merge.nextEntry() {
            switch entry {
            case .record(let record): accumulator.add(record)
            case .gap(let gap): accumulator.add(gap: gap)
            }
        }
        var stats = accumulator.finish(fileBytes: bytes, damages: merge.damages.map(\.damage))
        stats.fileCount = paths.count
        return stats
    }
}
