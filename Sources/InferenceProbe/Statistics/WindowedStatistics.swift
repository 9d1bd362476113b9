import NIOConcurrencyHelpers

/// Sliding-window statistics of every series, computed exactly from each series' recent probes
/// (`ProbeHistory`): what the window gauges, the status page and `compare` show.
public final class WindowedStatistics: Sendable {
    /// The windows, shortest first (`statistics.windows`).
    public let windows: [Duration]
    private let series = NIOLockedValueBox<[SeriesKey: Series]>([:])

    /// A series' history, and the snapshots `snapshots` last computed from it, reused while still exact.
    private struct Series {
        var history = ProbeHistory()
        var snapshots: ExactSnapshots?
    }

    /// A series' snapshots (one per window) taken at `taken`, exact until the series records another probe
    /// or a probe they count leaves its window (after `until`; nil: never).
    private struct ExactSnapshots {
        var taken: ProbeInstant
        /// The history's newest probe and its number of probes recorded, when taken.
        var newest: ProbeInstant?
        var recorded: Int
        var until: ProbeInstant?
        var windows: [(window: Duration, snapshot: WindowSnapshot)]

        init(_ history: ProbeHistory, windows: [Duration], now: ProbeInstant) {
            (taken, newest, recorded) = (now, history.samples.last?.at, history.recorded)
            self.windows = windows.map { (window: $0, snapshot: history.window($0, now: now)) }
            until = windows.compactMap { history.exactUntil($0, now: now) }.min()
        }

        func isExact(for history: ProbeHistory, now: ProbeInstant) -> Bool {
            history.recorded == recorded && history.samples.last?.at == newest && now >= taken
                && until.map { now <= $0 } ?? true
        }
    }

    public init(windows: [Duration] = ProbeConfig.defaultWindows) {
        self.windows = windows.sorted()
    }

    /// The `window` label of a window: `5m`, `1h`.
    public static func label(_ window: Duration) -> String {
        PrometheusDuration.format(window)
    }

    public func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at now: ProbeInstant = .now) {
        let horizon = windows.last ?? .seconds(3600)
        series.withLockedValue { series in
            series[result.key, default: Series()].history.record(result, measurement, at: now, keeping: horizon)
        }
    }

    /// Keeps only the histories of `keys` (after a reload).
    public func keep(only keys: Set<SeriesKey>) {
        series.withLockedValue { series in series = series.filter { keys.contains($0.key) } }
    }

    /// Every series with a history, and its snapshot per window (computed outside the lock, on a copy).
    /// A series whose snapshots are still exact since the last call (no new probe, none gone out of its
    /// window) is not computed again: a fleet scraped more often than it is probed recomputes only the
    /// series probed in between.
    public func snapshots(now: ProbeInstant = .now) -> [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])] {
        var copies = series.withLockedValue { $0 }
        var computed: [(key: SeriesKey, snapshots: ExactSnapshots)] = []
        let snapshots = copies.map { key, series in
            if let exact = series.snapshots, exact.isExact(for: series.history, now: now) { return (key, exact.windows) }
            let exact = ExactSnapshots(series.history, windows: windows, now: now)
            computed.append((key, exact))
            return (key, exact.windows)
        }
        guard !computed.isEmpty else { return snapshots }
        copies = [:]  // so that the table is not copied to keep them
        series.withLockedValue { series in
            for (key, exact) in computed { series[key]?.snapshots = exact }
        }
        return snapshots
    }

    /// One series' snapshot of one window (empty when the series has no history).
    public func snapshot(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> WindowSnapshot {
        let history = series.withLockedValue { $0[key]?.history }
        return history?.window(window, now: now) ?? WindowSnapshot()
    }

    /// The time to first token of a series' probes in the last `window`: seconds ago and value, oldest first.
    public func timeToFirstTokenTrail(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> [(age: Double, value: Double)] {
        let history = series.withLockedValue { $0[key]?.history }
        return history?.timeToFirstTokenTrail(window, now: now) ?? []
    }
}
