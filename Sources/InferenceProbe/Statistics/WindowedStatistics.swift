import NIOConcurrencyHelpers

/// Sliding-window statistics of every series, computed exactly from each series' recent probes
/// (`ProbeHistory`): what the window gauges, the status page and `compare` show.
public final class WindowedStatistics: Sendable {
    /// The windows, shortest first (`statistics.windows`).
    public let windows: [Duration]
    private let histories = NIOLockedValueBox<[SeriesKey: ProbeHistory]>([:])
    /// The snapshots of the last call to `snapshots`, reused by the next while they are still exact.
    private let lastSnapshots = NIOLockedValueBox<[SeriesKey: ExactSnapshots]>([:])

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
        histories.withLockedValue { histories in
            histories[result.key, default: ProbeHistory()].record(result, measurement, at: now, keeping: horizon)
        }
    }

    /// Keeps only the histories of `keys` (after a reload).
    public func keep(only keys: Set<SeriesKey>) {
        histories.withLockedValue { histories in histories = histories.filter { keys.contains($0.key) } }
    }

    /// Every series with a history, and its snapshot per window (computed outside the lock, on a copy).
    /// A series whose snapshots are still exact since the last call (no new probe, none gone out of its
    /// window) is not computed again: a fleet scraped more often than it is probed recomputes only the
    /// series probed in between.
    public func snapshots(now: ProbeInstant = .now) -> [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])] {
        let copies = histories.withLockedValue { $0 }
        let last = lastSnapshots.withLockedValue { $0 }
        var next: [SeriesKey: ExactSnapshots] = [:]  // only the series there are now
        next.reserveCapacity(copies.count)
        let snapshots = copies.map { key, history in
            let exact = last[key].flatMap { $0.isExact(for: history, now: now) ? $0 : nil }
                ?? ExactSnapshots(history, windows: windows, now: now)
            next[key] = exact
            return (key, exact.windows)
        }
        lastSnapshots.withLockedValue { $0 = next }
        return snapshots
    }

    /// One series' snapshot of one window (empty when the series has no history).
    public func snapshot(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> WindowSnapshot {
        let history = histories.withLockedValue { $0[key] }
        return history?.window(window, now: now) ?? WindowSnapshot()
    }

    /// The time to first token of a series' probes in the last `window`: seconds ago and value, oldest first.
    public func timeToFirstTokenTrail(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> [(age: Double, value: Double)] {
        let history = histories.withLockedValue { $0[key] }
        return history?.timeToFirstTokenTrail(window, now: now) ?? []
    }
}
