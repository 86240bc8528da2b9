import RFBDecoding
import RecordFormat

extension SessionPlayback {
    /// Takes a keyframe after the record at `position` when the last one is an interval back and
    /// the decoder is between messages (and no base64 message is half received).
    func keepKeyframe(after position: SessionRecords.Position) {
        let last = keyframes.last
        guard state.ordinal > last?.ordinal ?? 0,
            state.reachedMicros >= (last?.reachedMicros ?? 0) + options.intervalMicros,
            !state.midMessage[0], !state.midMessage[1],
            let snapshot = state.decoder.snapshot()
        else { return }
        keyframesChanged = true
        keyframes.append(
            Keyframe(
                reachedMicros: state.reachedMicros, ordinal: state.ordinal, position: position, frozen: state.frozen,
                snapshot: snapshot.serialized))
    }

    /// Goes on from `keyframe`: its decoder, and the records after its own. False (noted) when its
    /// snapshot does not read back or its record is not where it says.
    func resume(from keyframe: Keyframe) -> Bool {
        let decoder: RFBFramebufferDecoder
        do {
            decoder = try RFBFramebufferDecoder(resumingFrom: try RFBDecoderSnapshot(serialized: keyframe.snapshot))
        } catch {
            note(nil, "a keyframe (at \(RenderTimeText.seconds(keyframe.reachedMicros)) s) does not read back: \(error); "
                + "decoding from an earlier point")
            return false
        }
        let damagesBefore = records.damages.count
        records.seek(to: keyframe.position)
        pending = nil
        // The keyframe's own record comes first; anything else means the keyframe is not of this file.
        var found = false
        do {
            while let entry = try records.next() {
                if case .record(_, let position) = entry {
                    found = position == keyframe.position
                    break
                }
            }
        } catch {
            found = false
        }
        guard found else {
            // What reading from a wrong place found is not damage of the recording: the keyframe
            // (from a cache made of another file, or edited) is wrong.
            let extra = records.damages.count - damagesBefore
            if extra > 0, damagesNoted >= damagesBefore { damagesNoted += extra }
            let source = keyframesFromCache > 0 ? " of the keyframe cache \(cachePath ?? "")" : ""
            note(nil, "a keyframe\(source) (at \(RenderTimeText.seconds(keyframe.reachedMicros)) s) does not match the "
                + "recording's records: not used (the cache is made again); decoding from an earlier point")
            return false
        }
        state = State(decoder: decoder, bytes: FrameBytes(open))
        state.reachedMicros = keyframe.reachedMicros
        state.ordinal = keyframe.ordinal
        state.frozen = keyframe.frozen
        lastStartMicros = keyframe.reachedMicros
        return true
    }

    /// Reads this session's keyframes from the cache file, if there is a usable one.
    func loadKeyframes() {
        guard let cachePath, let identity else { return }
        do {
            guard let cache = try KeyframeCache.load(path: cachePath, identity: identity),
                let track = cache.sessions[session], track.intervalMicros == options.intervalMicros
            else { return }
            keyframes = track.keyframes
            keyframesFromCache = keyframes.count
        } catch {
            switch error {
            case .stale:
                note(nil, "the keyframe cache \(cachePath) is of the recording as it was before (it changed since): "
                    + "not used, made again")
            case .damaged(let why):
                note(nil, "the keyframe cache \(cachePath) is damaged (\(why)): not used, made again")
            case .notAFile:
                cacheRefused = true
                note(nil, "the keyframe cache \(cachePath) is not a regular file: neither used nor replaced")
            }
        }
    }

    /// Writes the keyframes to the cache file when they changed since it was read (more of them, or
    /// some dropped because they did not read back), keeping the other sessions' keyframes of a
    /// cache that is still valid. A cache that cannot be written is noted;
    /// nothing else depends on it.
    public func saveKeyframes() {
        guard let cachePath, let identity, keyframesChanged, !cacheRefused else { return }
        // Made from the recording as it was when opened; a recording that changed since gets a cache
        // that the next run finds stale.
        var cache = (try? KeyframeCache.load(path: cachePath, identity: identity)) ?? KeyframeCache(identity: identity)
        cache.sessions[session] = KeyframeCache.Track(intervalMicros: options.intervalMicros, keyframes: keyframes)
        do {
            try AtomicFile.write(cache.encoded(), to: cachePath, mode: try AtomicFile.cacheMode(of: path))
            keyframesChanged = false
        } catch {
            note(nil, "the keyframe cache cannot be written (\(error)); the next run decodes again")
        }
    }
}
