import NIOCore

/// The recent probes of one series, bounded, from which window statistics are computed exactly.
///
/// It keeps what the longest window needs, and never more than `maxProbes` probes and `maxGaps`
/// inter-token gaps (oldest dropped first): at most about 0.5 MB per series, when probed every second
/// with long answers; at the default 30 s interval an hour is 120 probes, about 17 KB.
struct ProbeHistory {
    static let maxProbes = 4096
    static let maxGaps = 65_536

    /// What one probe leaves for the statistics (figures of successful probes; `Float` is plenty).
    struct Sample {
        var at: ProbeInstant
        var success: Bool
        var timeToFirstToken: Float?
        var duration: Float?
        var tokensPerSecond: Float?
        var connectionSetup: Float?
        /// How many of the newest entries of `gaps` are this probe's inter-token gaps.
        var gapCount: Int
    }

    private(set) var samples = CircularBuffer<Sample>()
    /// Probes recorded since the history began (kept or not).
    private(set) var recorded = 0
    private var gaps = CircularBuffer<Float>()
    /// The gaps the kept samples account for (`gaps` may hold fewer: `maxGaps` drops the oldest).
    private var keptGapCount = 0

    mutating func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at now: ProbeInstant, keeping horizon: Duration) {
        recorded += 1
        let success = result.outcome == .success
        let newGaps = success ? measurement.interTokenLatencies.suffix(Self.maxGaps) : []
        if samples.count == Self.maxProbes { dropOldest() }
        for gap in newGaps {
            if gaps.count == Self.maxGaps { gaps.removeFirst() }
            gaps.append(Float(gap))
        }
        samples.append(Sample(
            at: now, success: success, timeToFirstToken: measurement.timeToFirstToken.map(Float.init),
            duration: measurement.duration.map(Float.init), tokensPerSecond: measurement.outputTokensPerSecond.map(Float.init),
            connectionSetup: measurement.connectionSetup.map(Float.init), gapCount: newGaps.count))
        keptGapCount += newGaps.count
        while let oldest = samples.first, oldest.at < now - horizon { dropOldest() }
    }

    /// Drops the oldest probe and whatever is left of its gaps.
    private mutating func dropOldest() {
        let oldest = samples.removeFirst()
        keptGapCount -= oldest.gapCount
        gaps.removeFirst(Swift.max(0, gaps.count - keptGapCount))
    }

    /// The statistics of the probes that finished in the last `window` before `now`.
    func window(_ window: Duration, now: ProbeInstant) -> WindowSnapshot {
        var snapshot = WindowSnapshot()
        var ttft: [Double] = [], duration: [Double] = [], rate: [Double] = [], setup: [Double] = [], itl: [Double] = []
        var gapEnd = gaps.count
        for sample in samples.reversed() {
            let gapStart = Swift.max(0, gapEnd - sample.gapCount)
            defer { gapEnd = gapStart }
            guard now - sample.at <= window else { break }
            snapshot.probes += 1
            if sample.success { snapshot.successes += 1 }
            if let value = sample.timeToFirstToken { ttft.append(Double(value)) }
            if let value = sample.duration { duration.append(Double(value)) }
            if let value = sample.tokensPerSecond { rate.append(Double(value)) }
            if let value = sample.connectionSetup { setup.append(Double(value)) }
            for index in gapStart..<gapEnd { itl.append(Double(gaps[gaps.index(gaps.startIndex, offsetBy: index)])) }
        }
        snapshot.timeToFirstToken = SampleSummary(ttft)
        snapshot.interTokenLatency = SampleSummary(itl)
        snapshot.duration = SampleSummary(duration)
        snapshot.tokensPerSecond = SampleSummary(rate)
        snapshot.connectionSetup = SampleSummary(setup)
        return snapshot
    }

    /// Until when `window(window, now:)` stays the same if no probe is recorded: until its oldest probe
    /// leaves the window (nil: it has no probe, and stays empty).
    func exactUntil(_ window: Duration, now: ProbeInstant) -> ProbeInstant? {
        samples.first { now - $0.at <= window }.map { $0.at + window }
    }

    /// Time to first token of the probes of the last `window`, oldest first: seconds ago and value.
    func timeToFirstTokenTrail(_ window: Duration, now: ProbeInstant) -> [(age: Double, value: Double)] {
        samples.filter { now - $0.at <= window }.compactMap { sample in
            sample.timeToFirstToken.map { ((now - sample.at).seconds, Double($0)) }
        }
    }
}

/// What one window of one series says.
public struct WindowSnapshot: Sendable {
    public var probes = 0
    public var successes = 0
    public var timeToFirstToken: SampleSummary?
    public var interTokenLatency: SampleSummary?
    public var duration: SampleSummary?
    public var tokensPerSecond: SampleSummary?
    /// Connection setup of the probes that opened a connection.
    public var connectionSetup: SampleSummary?

    /// The figures a window summarizes.
    public enum Figure: Sendable, CaseIterable {
        case timeToFirstToken, interTokenLatency, duration, tokensPerSecond, connectionSetup
    }

    public subscript(figure: Figure) -> SampleSummary? {
        switch figure {
        case .timeToFirstToken: timeToFirstToken
        case .interTokenLatency: interTokenLatency
        case .duration: duration
        case .tokensPerSecond: tokensPerSecond
        case .connectionSetup: connectionSetup
        }
    }

    /// Successes / probes; `nil` without probes.
    public var availability: Double? {
        probes > 0 ? Double(successes) / Double(probes) : nil
    }
}
